import { crc32, deflateRawSync } from 'node:zlib';

/** A hand-made ZIP writer: lets tests declare sizes and flags that no honest library would write. */
export interface ZipPart {
  name: string;
  /** The bytes stored in the archive (already deflated when method is 8). */
  body: Buffer;
  method: 0 | 8;
  /** Declared uncompressed size, in both the local header and the central directory. */
  size: number;
  crc?: number;
  flags?: number;
}

export const stored = (name: string, text: string | Buffer): ZipPart => {
  const data = Buffer.from(text);
  return { name, body: data, method: 0, size: data.length, crc: crc32(data) };
};
export const deflated = (name: string, text: string | Buffer): ZipPart => {
  const data = Buffer.from(text);
  return { name, body: deflateRawSync(data), method: 8, size: data.length, crc: crc32(data) };
};

/**
 * Writes the fields a local header and its central-directory record share, from "version needed" to the name's
 * length, at `at`: 4 in a local header, 6 in a central record (after "version made by"). Both declare the same sizes.
 */
function writeEntryFields(header: Buffer, at: number, p: ZipPart, nameLength: number): void {
  header.writeUInt16LE(20, at);
  header.writeUInt16LE(p.flags ?? 0, at + 2);
  header.writeUInt16LE(p.method, at + 4);
  header.writeUInt32LE(p.crc ?? 0, at + 10);
  header.writeUInt32LE(p.body.length, at + 14);
  header.writeUInt32LE(p.size, at + 18);
  header.writeUInt16LE(nameLength, at + 22);
}

export function buildZip(parts: ZipPart[]): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const p of parts) {
    const name = Buffer.from(p.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    writeEntryFields(local, 4, p, name.length);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    writeEntryFields(cd, 6, p, name.length);
    cd.writeUInt32LE(offset, 42);
    chunks.push(local, name, p.body);
    central.push(cd, name);
    offset += local.length + name.length + p.body.length;
  }
  const cdBytes = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(parts.length, 8);
  eocd.writeUInt16LE(parts.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, cdBytes, eocd]);
}
