import { DropdownMenu } from 'radix-ui';
import { useState } from 'react';
import { authHeaders } from '../../api/client';
import { messageOf, toProblemError } from '../../api/problem';
import { useToast } from '../../ui/toast';

/** Every format GET /api/v1/datasets/{id}/download answers (src/datasets/schemas.ts DownloadQuery). */
const FORMATS = [
  { value: 'csv', label: 'CSV' },
  { value: 'ndjson', label: 'NDJSON (one JSON object per line)' },
  { value: 'json', label: 'JSON (an array of objects)' },
  { value: 'parquet', label: 'Parquet' },
  { value: 'xlsx', label: 'Excel (XLSX)' },
] as const;

type Format = (typeof FORMATS)[number]['value'];

/** The file name the server gave (RFC 6266: `filename*` in UTF-8 first), else one made from the dataset's name. */
export function filenameFrom(disposition: string | null, fallback: string): string {
  const star = disposition?.match(/filename\*=UTF-8''([^;]+)/i)?.[1];
  if (star) {
    try {
      return decodeURIComponent(star);
    } catch {
      // a malformed escape: fall through to the plain form
    }
  }
  return disposition?.match(/filename="([^"]+)"/i)?.[1] ?? fallback;
}

/**
 * Downloads a version in any export format. The API needs the Authorization header, which a plain link cannot send,
 * so the file is fetched and handed to the browser as a blob URL: the whole file passes through memory. The API
 * offers no signed URL that would let the browser stream it to disk itself (see the report on issue 15).
 */
export function DownloadMenu({
  datasetId,
  datasetName,
  versionId,
}: {
  datasetId: string;
  datasetName: string;
  versionId: string;
}) {
  const notify = useToast();
  const [busy, setBusy] = useState<Format | null>(null);

  const download = async (format: Format) => {
    setBusy(format);
    try {
      const query = new URLSearchParams({ format, version: versionId });
      const response = await fetch(`/api/v1/datasets/${encodeURIComponent(datasetId)}/download?${query}`, {
        headers: await authHeaders(),
      });
      if (!response.ok) {
        const body: unknown = await response.json().catch(() => undefined);
        throw toProblemError(body, response);
      }
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = filenameFrom(response.headers.get('content-disposition'), `${datasetName}.${format}`);
      document.body.append(a);
      a.click();
      a.remove();
      // The click has handed the URL to the download manager; release the blob once it has read it.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      notify({ title: `Download as ${format.toUpperCase()} failed`, description: messageOf(e), tone: 'error' });
    } finally {
      setBusy(null);
    }
  };

  return (
    <DropdownMenu.Root>
      <DropdownMenu.Trigger className="btn" aria-busy={busy !== null || undefined}>
        {busy && <span className="spinner" aria-hidden="true" />}
        Download
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content className="menu" align="end" sideOffset={4}>
          <DropdownMenu.Label className="menu-label">Download this version as</DropdownMenu.Label>
          {FORMATS.map((f) => (
            <DropdownMenu.Item
              key={f.value}
              className="menu-item"
              disabled={busy !== null}
              onSelect={() => void download(f.value)}
            >
              {f.label}
            </DropdownMenu.Item>
          ))}
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}
