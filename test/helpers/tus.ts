import { createHash } from 'node:crypto';
import net from 'node:net';
import * as tus from 'tus-js-client';

/** `key base64,key base64` as tus sends metadata. */
export function metadataHeader(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

export const TUS = { 'tus-resumable': '1.0.0' };

export function checksum(algorithm: 'sha1' | 'sha256' | 'md5', data: Buffer): string {
  return `${algorithm} ${createHash(algorithm).update(data).digest('base64')}`;
}

/** A CSV of `rows` data rows, `bytes` long or more, every row distinct. */
export function csvOf(rows: number): Buffer {
  const lines = ['id,name,value'];
  for (let i = 0; i < rows; i++) lines.push(`${i},row-${i},${(i * 1.5).toFixed(1)}`);
  return Buffer.from(lines.join('\n') + '\n');
}

export interface TusRun {
  url: string | null;
  /** Every `bytesUploaded` onProgress reported, in order. */
  progress: number[];
  done: Promise<void>;
  upload: tus.Upload;
}

/** Starts an upload with the official tus-js-client (Node build) and resolves `done` on success. */
export function tusUpload(endpoint: string, data: Buffer, options: Partial<tus.UploadOptions> = {}): TusRun {
  const progress: number[] = [];
  let resolveDone!: () => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  const run: TusRun = { url: null, progress, done, upload: undefined as unknown as tus.Upload };
  run.upload = new tus.Upload(data, {
    endpoint,
    retryDelays: [0, 200, 500, 1000, 2000],
    metadata: { filename: 'data.csv' },
    ...options,
    onProgress: (sent, total) => {
      progress.push(sent);
      options.onProgress?.(sent, total);
    },
    onSuccess: (payload) => {
      run.url = run.upload.url;
      options.onSuccess?.(payload);
      resolveDone();
    },
    onError: (e) => rejectDone(e),
    onUploadUrlAvailable: () => {
      run.url = run.upload.url;
      options.onUploadUrlAvailable?.();
    },
  });
  run.upload.start();
  return run;
}

/**
 * A loopback TCP proxy in front of a server that cuts the first connection carrying a request body once
 * `cutAfter` bytes went upstream (a network failure in the middle of a PATCH); later connections pass.
 */
export async function cuttingProxy(
  target: string,
  cutAfter: number,
): Promise<{ url: string; cuts: number; bytesUp: number; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  const state = { cuts: 0, bytesUp: 0 };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    let sent = 0;
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      state.bytesUp += chunk.length;
      if (state.cuts === 0 && sent > cutAfter) {
        state.cuts++;
        upstream.write(chunk.subarray(0, chunk.length - (sent - cutAfter)));
        // Both directions dropped mid-request, as a broken link would.
        client.destroy();
        upstream.destroy();
        return;
      }
      // Backpressure, as a real link has: the bytes in flight are what the kernel buffers hold.
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    get cuts() {
      return state.cuts;
    },
    /** Bytes clients sent through the proxy, headers included. */
    get bytesUp() {
      return state.bytesUp;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
