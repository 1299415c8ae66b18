/** Numbers as the XLSX error messages show them to the uploader or downloader. */

/** 1234567 → "1,234,567". */
export const count = (n: number): string => n.toLocaleString('en-US');

/** 1536 → "1.5 KiB"; below 1 KiB the exact count of bytes. */
export function bytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
