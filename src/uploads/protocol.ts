import { uploadNameErrors } from '../datasets/upload-names.js';
import { AppError, errors } from '../errors.js';

/**
 * The tus 1.0.0 wire format (https://tus.io/protocols/resumable-upload): header names, the extensions Weir
 * implements, and pure parsers for the headers that carry structure. Nothing here does I/O.
 */

export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = [
  'creation',
  'creation-with-upload',
  'creation-defer-length',
  'expiration',
  'checksum',
  'termination',
  'concatenation',
];
/** `Upload-Checksum` algorithms: sha1 is the one the protocol requires; sha256 and md5 cost nothing more to offer. */
export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'md5'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export const OFFSET_OCTET_STREAM = 'application/offset+octet-stream';

/** Headers a browser client must be allowed to send and to read (CORS). */
export const TUS_REQUEST_HEADERS = [
  'tus-resumable',
  'upload-length',
  'upload-offset',
  'upload-metadata',
  'upload-defer-length',
  'upload-concat',
  'upload-checksum',
  'x-http-method-override',
];
export const TUS_RESPONSE_HEADERS = [
  'tus-resumable',
  'tus-version',
  'tus-extension',
  'tus-max-size',
  'tus-checksum-algorithm',
  'upload-offset',
  'upload-length',
  'upload-metadata',
  'upload-defer-length',
  'upload-concat',
  'upload-expires',
  'location',
];

/** Metadata keys Weir reads; other keys are kept and echoed, never interpreted. */
export interface UploadMetadata {
  filename: string;
  name?: string;
  description?: string;
  tags?: string[];
  datasetId?: string;
  filetype?: string;
}

const MAX_METADATA_BYTES = 16 * 1024;
const KEY_RE = /^[\x21-\x2b\x2d-\x7e]+$/; // printable ASCII without space and comma
const DATASET_ID_RE = /^ds_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Where the shared name rules (datasets/upload-names.ts) report a metadata key. */
const METADATA_NAME_POINTERS = { name: '/headers/upload-metadata/name', filename: '/headers/upload-metadata/filename' };

const bad = (pointer: string, message: string) =>
  errors.validation(`Invalid ${pointer}: ${message}`, [{ pointer: `/headers/${pointer}`, message }]);

/** `key base64,key2 base64,key3` → pairs (a key may have no value). Keys must be unique. */
export function parseMetadataHeader(raw: string | undefined): Map<string, string> {
  const pairs = new Map<string, string>();
  if (raw === undefined || raw.trim() === '') return pairs;
  if (raw.length > MAX_METADATA_BYTES) throw bad('upload-metadata', `must be at most ${MAX_METADATA_BYTES} bytes`);
  for (const item of raw.split(',')) {
    const parts = item.trim().split(' ');
    const key = parts[0] ?? '';
    if (parts.length > 2 || !KEY_RE.test(key))
      throw bad('upload-metadata', `'${item.trim().slice(0, 40)}' is not a 'key base64value' pair`);
    if (pairs.has(key)) throw bad('upload-metadata', `key '${key}' appears twice`);
    const encoded = parts[1] ?? '';
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0)
      throw bad('upload-metadata', `the value of '${key}' is not base64`);
    const value = Buffer.from(encoded, 'base64').toString('utf8');
    if (value.includes('\uFFFD')) throw bad('upload-metadata', `the value of '${key}' is not UTF-8`);
    pairs.set(key, value);
  }
  return pairs;
}

/** The metadata Weir understands, validated like the plain upload form's fields (`name` and `filename` by the same rules). */
export function readUploadMetadata(pairs: Map<string, string>): UploadMetadata {
  /** A key's trimmed value (none when empty); `max`: its length limit, unless a shared rule checks it. */
  const str = (key: string, max?: number): string | undefined => {
    const v = pairs.get(key)?.trim();
    if (v === undefined || v === '') return undefined;
    if (max !== undefined && v.length > max) throw bad('upload-metadata', `'${key}' must be at most ${max} characters`);
    return v;
  };
  const names = { name: str('name'), filename: str('filename') };
  const problems = uploadNameErrors(names, METADATA_NAME_POINTERS);
  if (problems.length > 0)
    throw errors.validation(
      `Invalid upload-metadata: ${problems.map((p) => `'${p.pointer.split('/').pop()}' ${p.message}`).join('; ')}`,
      problems,
    );
  // Without a file name the dataset name stands in, as a single name.
  const filename = names.filename ?? names.name?.replace(/[/\\]/g, '_') ?? 'upload';
  const datasetId = str('datasetId', 40);
  if (datasetId !== undefined && !DATASET_ID_RE.test(datasetId))
    throw bad('upload-metadata', `'datasetId' must be a dataset id (ds_…)`);
  const tagsRaw = str('tags', 2000);
  let tags: string[] | undefined;
  if (tagsRaw !== undefined) {
    tags = tagsRaw
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    if (tags.length > 20 || tags.some((t) => t.length > 64))
      throw bad('upload-metadata', `'tags' takes at most 20 comma-separated tags of up to 64 characters`);
  }
  return {
    filename,
    name: names.name,
    description: str('description', 4000),
    tags,
    datasetId,
    filetype: str('filetype', 200),
  };
}

/** A non-negative integer header (`Upload-Length`, `Upload-Offset`); undefined when absent. */
export function parseSize(raw: string | undefined, header: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,16}$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw)))
    throw bad(header, 'must be a non-negative integer');
  return Number(raw);
}

export interface ChecksumHeader {
  algorithm: ChecksumAlgorithm;
  /** The expected digest, raw bytes. */
  digest: Buffer;
}

/** `Upload-Checksum: sha1 <base64>`; an algorithm Weir does not offer is a 400 (the protocol's answer). */
export function parseChecksum(raw: string | undefined): ChecksumHeader | undefined {
  if (raw === undefined) return undefined;
  const m = /^\s*([A-Za-z0-9-]+)\s+([A-Za-z0-9+/]+={0,2})\s*$/.exec(raw);
  if (!m) throw bad('upload-checksum', `must be '<algorithm> <base64 digest>'`);
  const algorithm = m[1]!.toLowerCase();
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw errors.badRequest(
      `Unsupported checksum algorithm '${algorithm}'; supported: ${CHECKSUM_ALGORITHMS.join(', ')}`,
      [{ pointer: '/headers/upload-checksum', message: `supported: ${CHECKSUM_ALGORITHMS.join(', ')}` }],
    );
  }
  return { algorithm: algorithm as ChecksumAlgorithm, digest: Buffer.from(m[2]!, 'base64') };
}

export type ConcatHeader = { kind: 'partial' } | { kind: 'final'; parts: string[] };

/** `partial`, or `final;<url> <url> …` where each URL (absolute or a path) ends in an upload id. */
export function parseConcat(raw: string | undefined): ConcatHeader | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (v === 'partial') return { kind: 'partial' };
  const m = /^final;(.+)$/.exec(v);
  if (!m) throw bad('upload-concat', `must be 'partial' or 'final;<upload URL> …'`);
  const parts = m[1]!
    .trim()
    .split(/\s+/)
    .map((u) => {
      const id = /(?:^|\/)(up_[0-9A-HJKMNP-TV-Z]{26})\/?$/.exec(u)?.[1];
      if (!id) throw bad('upload-concat', `'${u.slice(0, 100)}' is not an upload URL`);
      return id;
    });
  if (parts.length > 1000) throw bad('upload-concat', 'at most 1000 parts');
  return { kind: 'final', parts };
}

/** RFC 9110 IMF-fixdate, what `Upload-Expires` carries. */
export const httpDate = (d: Date): string => d.toUTCString();

/** The tus error for a wrong or missing `Tus-Resumable` header. */
export function versionMismatch(got: string | undefined): AppError {
  return new AppError(
    'precondition_failed',
    `This server speaks tus ${TUS_VERSION}; the request said ${got === undefined ? 'nothing (Tus-Resumable header missing)' : `'${got}'`}`,
    [{ pointer: '/headers/tus-resumable', message: `must be ${TUS_VERSION}` }],
  );
}

const MIME_EXTENSIONS: Record<string, string> = {
  'text/csv': '.csv',
  'text/tab-separated-values': '.tsv',
  'application/json': '.json',
  'application/x-ndjson': '.ndjson',
  'application/jsonl': '.jsonl',
  'application/vnd.apache.parquet': '.parquet',
  'application/x-parquet': '.parquet',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': '.xlsx',
};

/** The file name the content checks judge by: a declared media type (`filetype` metadata) stands in for a missing extension. */
export function declaredFilename(filename: string, filetype: string | undefined): string {
  if (/\.[A-Za-z0-9]+$/.test(filename) || !filetype) return filename;
  return `${filename}${MIME_EXTENSIONS[filetype.split(';')[0]!.trim().toLowerCase()] ?? ''}`;
}
