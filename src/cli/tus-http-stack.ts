import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type { HttpRequest, HttpResponse, HttpStack } from 'tus-js-client';

/**
 * tus-js-client's transport over node:http with WHATWG URLs. Its own Node stack parses URLs with `url.parse()`,
 * which Node 24 deprecates at run time (DEP0169: a warning on every `weir upload`); this one is what that stack
 * does otherwise: headers, a Content-Length for sized bodies, progress as bytes are handed to the socket.
 */
export class TusHttpStack implements HttpStack {
  createRequest(method: string, url: string): HttpRequest {
    return new TusRequest(method, url);
  }

  getName(): string {
    return 'WeirNodeHttpStack';
  }
}

/** Bytes per write when sending a buffer, so progress moves while a large chunk is on its way. */
const WRITE_BYTES = 64 * 1024;

class TusRequest implements HttpRequest {
  private readonly headers: Record<string, string> = {};
  private onProgress: (bytesSent: number) => void = () => {};
  private request: ClientRequest | null = null;

  constructor(
    private readonly method: string,
    private readonly url: string,
  ) {}

  getMethod(): string {
    return this.method;
  }

  getURL(): string {
    return this.url;
  }

  setHeader(header: string, value: string): void {
    this.headers[header] = value;
  }

  getHeader(header: string): string | undefined {
    return this.headers[header];
  }

  setProgressHandler(handler: (bytesSent: number) => void): void {
    this.onProgress = handler;
  }

  send(body: unknown = null): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const url = new URL(this.url);
      const headers: Record<string, string | number> = { ...this.headers };
      if (body instanceof Uint8Array) headers['Content-Length'] = body.byteLength;
      const request = (url.protocol === 'https:' ? https : http).request(url, { method: this.method, headers });
      this.request = request;
      request.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve(new TusResponse(res, Buffer.concat(chunks).toString('utf8'))));
        res.on('error', reject);
      });
      request.on('error', reject);
      if (body instanceof Readable) {
        let sent = 0;
        body.on('data', (d: Buffer) => {
          sent += d.length;
          this.onProgress(sent);
        });
        body.pipe(request);
      } else if (body instanceof Uint8Array) {
        void writeWithProgress(request, body, this.onProgress).catch(reject);
      } else {
        request.end(typeof body === 'string' ? body : undefined);
      }
    });
  }

  abort(): Promise<void> {
    this.request?.destroy();
    return Promise.resolve();
  }

  getUnderlyingObject(): unknown {
    return this.request;
  }
}

async function writeWithProgress(
  request: ClientRequest,
  body: Uint8Array,
  onProgress: (bytesSent: number) => void,
): Promise<void> {
  for (let offset = 0; offset < body.byteLength; offset += WRITE_BYTES) {
    const piece = body.subarray(offset, Math.min(body.byteLength, offset + WRITE_BYTES));
    if (request.destroyed) return;
    if (!request.write(piece))
      await new Promise<void>((resolve) => request.once('drain', resolve).once('close', resolve));
    onProgress(offset + piece.byteLength);
  }
  request.end();
}

class TusResponse implements HttpResponse {
  constructor(
    private readonly response: IncomingMessage,
    private readonly body: string,
  ) {}

  getStatus(): number {
    return this.response.statusCode ?? 0;
  }

  getHeader(header: string): string | undefined {
    const value = this.response.headers[header.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  getBody(): string {
    return this.body;
  }

  getUnderlyingObject(): unknown {
    return this.response;
  }
}
