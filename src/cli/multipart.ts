import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * A multipart/form-data body streamed from disk: preamble (text fields and the file part's headers), the file
 * itself one read-stream chunk at a time, epilogue. Its length is known up front, so the request carries a
 * Content-Length and the server can reject an oversize upload before reading it.
 */
export interface MultipartUpload {
  contentType: string;
  contentLength: number;
  /** Pulled by fetch as the socket drains, so at most one read-stream chunk (64 KiB) is in memory at a time. */
  body: AsyncIterable<Uint8Array>;
}

/**
 * Quotes a header parameter value the way browsers do for form-data (WHATWG HTML "multipart/form-data encoding"):
 * `"`, CR and LF are percent-encoded; everything else, UTF-8 included, is sent as is.
 */
function quoteParam(value: string): string {
  return `"${value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;
}

/** `onFile` is called with the file bytes handed to fetch so far, after each chunk: the upload's progress. */
export function multipartUpload(
  file: { path: string; filename: string; bytes: number },
  fields: Record<string, string | undefined>,
  onFile: (sentBytes: number) => void = () => {},
): MultipartUpload {
  const boundary = `----weir-${randomBytes(16).toString('hex')}`;
  const parts: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    parts.push(`--${boundary}\r\nContent-Disposition: form-data; name=${quoteParam(name)}\r\n\r\n${value}\r\n`);
  }
  parts.push(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename=${quoteParam(file.filename)}\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const preamble = Buffer.from(parts.join(''), 'utf8');
  const epilogue = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');

  async function* body(): AsyncGenerator<Uint8Array> {
    yield preamble;
    let sent = 0;
    for await (const chunk of createReadStream(file.path)) {
      const buf = chunk as Buffer;
      yield buf;
      sent += buf.length;
      onFile(sent);
    }
    if (sent !== file.bytes)
      throw new Error(`${file.filename} changed size while it was being uploaded (${file.bytes} → ${sent} bytes)`);
    yield epilogue;
  }

  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: preamble.length + file.bytes + epilogue.length,
    body: body(),
  };
}
