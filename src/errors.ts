/**
 * The one error family of Weir. Services throw `AppError`s built by the factories below; a code says what went
 * wrong and ERROR_CODES gives its HTTP status. The HTTP layer (src/http/errors.ts) maps them to RFC 9457 problem+json. Anything that is not an AppError is an internal
 * error and is answered as a plain 500 without details.
 */

export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'not_found'
  | 'route_not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'headers_too_large'
  | 'upgrade_required'
  | 'unsupported_media_type'
  | 'unsupported_format'
  | 'invalid_file'
  | 'empty_file'
  | 'header_only'
  | 'ragged_rows'
  | 'binary_content'
  | 'unsupported_encoding'
  | 'invalid_json'
  | 'invalid_parquet'
  | 'invalid_xlsx'
  | 'xlsx_too_large'
  | 'too_many_columns'
  | 'invalid_column_name'
  | 'line_too_long'
  | 'export_too_large'
  | 'not_ready'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'request_timeout'
  | 'too_many_connections'
  | 'ip_blocked'
  | 'self_lockout'
  | 'invitation_expired'
  | 'invitation_not_pending'
  | 'job_not_cancellable'
  | 'job_not_retryable'
  | 'precondition_failed'
  | 'offset_mismatch'
  | 'checksum_mismatch'
  | 'upload_locked'
  | 'upload_gone'
  | 'quota_exceeded'
  | 'query_timeout'
  | 'output_too_large'
  | 'query_out_of_memory'
  | 'upload_missing'
  | 'timeout'
  | 'worker_lost'
  | 'job_failed'
  | 'internal';

/** One entry of `errors[]`: where (a JSON pointer, a field or a line) and what. */
export interface FieldError {
  /** JSON pointer into the request (`/body/name`, `/query/limit`), a form field (`/file`) or a file position (`line 12`). */
  pointer: string;
  message: string;
  /** 1-based line in the uploaded file, when the problem has one. */
  line?: number;
  /** 1-based data row in the uploaded file (header excluded), when the problem has one. */
  row?: number;
}

/**
 * The HTTP status and title of every code: the one place a status is chosen, so a code always answers the same
 * status wherever it is thrown. A refused file is 415 when Weir cannot read its kind, 413 when it is too large and
 * 422 otherwise. docs/api.md lists this table (src/errors.test.ts keeps the two equal).
 */
export const ERROR_CODES: Readonly<Record<ErrorCode, { status: number; title: string }>> = {
  bad_request: { status: 400, title: 'Bad request' },
  validation_failed: { status: 400, title: 'Request validation failed' },
  not_found: { status: 404, title: 'Not found' },
  route_not_found: { status: 404, title: 'Route not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  headers_too_large: { status: 431, title: 'Request headers too large' },
  upgrade_required: { status: 426, title: 'Upgrade required' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  unsupported_format: { status: 415, title: 'Unsupported file format' },
  invalid_file: { status: 422, title: 'Invalid file' },
  empty_file: { status: 422, title: 'Empty file' },
  header_only: { status: 422, title: 'File has a header but no data rows' },
  ragged_rows: { status: 422, title: 'Rows have inconsistent numbers of fields' },
  binary_content: { status: 422, title: 'Binary content in a text file' },
  unsupported_encoding: { status: 415, title: 'Unsupported text encoding' },
  invalid_json: { status: 422, title: 'Invalid JSON dataset' },
  invalid_parquet: { status: 422, title: 'Invalid Parquet file' },
  invalid_xlsx: { status: 422, title: 'Invalid XLSX workbook' },
  xlsx_too_large: { status: 413, title: 'Workbook exceeds the configured limits' },
  too_many_columns: { status: 422, title: 'Too many columns' },
  invalid_column_name: { status: 422, title: 'Invalid column name' },
  line_too_long: { status: 422, title: 'Line too long' },
  export_too_large: { status: 422, title: 'Dataset too large for the requested format' },
  not_ready: { status: 503, title: 'Service not ready' },
  unauthorized: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Permission denied' },
  rate_limited: { status: 429, title: 'Too many requests' },
  request_timeout: { status: 408, title: 'Request not received in time' },
  too_many_connections: { status: 429, title: 'Too many open connections' },
  ip_blocked: { status: 403, title: 'Address not allowed' },
  self_lockout: { status: 409, title: 'The change would lock you out' },
  invitation_expired: { status: 410, title: 'Invitation expired' },
  invitation_not_pending: { status: 409, title: 'Invitation already answered or withdrawn' },
  job_not_cancellable: { status: 409, title: 'Job cannot be cancelled' },
  job_not_retryable: { status: 409, title: 'Job cannot be retried' },
  precondition_failed: { status: 412, title: 'Precondition failed' },
  offset_mismatch: { status: 409, title: 'Upload offset mismatch' },
  // 460 is the status tus clients (tus-js-client, Uppy) know as a checksum mismatch.
  checksum_mismatch: { status: 460, title: 'Checksum mismatch' },
  upload_locked: { status: 423, title: 'Upload is being written by another request' },
  upload_gone: { status: 410, title: 'Upload expired' },
  quota_exceeded: { status: 413, title: 'Workspace storage quota exceeded' },
  query_timeout: { status: 422, title: 'Query took too long' },
  output_too_large: { status: 422, title: 'The work would make more rows than allowed' },
  query_out_of_memory: { status: 422, title: 'The query needed more memory than allowed' },
  // Codes a job records when it fails, answered by a request that waited for the job (upload with ?wait=true).
  upload_missing: { status: 422, title: 'The uploaded file is no longer stored' },
  timeout: { status: 500, title: 'The job took longer than its timeout' },
  worker_lost: { status: 500, title: 'The worker running the job was lost' },
  job_failed: { status: 422, title: 'The job failed' },
  internal: { status: 500, title: 'Internal server error' },
};

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

/** The HTTP status a code answers. */
export const statusOf = (code: ErrorCode): number => ERROR_CODES[code].status;

export class AppError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly title: string;
  readonly errors: FieldError[];
  /** Extra members copied into the problem document (RFC 9457 extension members). */
  readonly extensions: Record<string, unknown>;

  constructor(code: ErrorCode, detail: string, errors: FieldError[] = [], extensions: Record<string, unknown> = {}) {
    super(detail);
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.title = ERROR_CODES[code].title;
    this.errors = errors;
    this.extensions = extensions;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/** A refused file; `where` points at the line or field, by default the uploaded `/file`. */
export function fileRejected(
  code: ErrorCode,
  detail: string,
  where: Partial<Omit<FieldError, 'message'>> = {},
): AppError {
  const pointer = where.pointer ?? (where.line !== undefined ? `line ${where.line}` : '/file');
  return new AppError(code, detail, [{ ...where, pointer, message: detail }]);
}

export const errors = {
  badRequest: (detail: string, fieldErrors: FieldError[] = []) => new AppError('bad_request', detail, fieldErrors),
  validation: (detail: string, fieldErrors: FieldError[]) => new AppError('validation_failed', detail, fieldErrors),
  notFound: (what: string, id: string) => new AppError('not_found', `${what} '${id}' does not exist`),
  conflict: (detail: string) => new AppError('conflict', detail),
  payloadTooLarge: (limitBytes: number, what = 'upload') =>
    new AppError('payload_too_large', `The ${what} exceeds the limit of ${limitBytes} bytes`, [], { limitBytes }),
  unsupportedMediaType: (detail: string) => new AppError('unsupported_media_type', detail),
  notReady: (detail: string, failing: string[]) => new AppError('not_ready', detail, [], { failing }),
  unauthorized: (detail = 'A valid access token or API key is required') => new AppError('unauthorized', detail),
  forbidden: (permission: string) =>
    new AppError('forbidden', `This action needs the permission '${permission}'`, [], { permission }),
  rateLimited: (retryAfterSeconds: number, detail = 'Too many requests; retry later') =>
    new AppError('rate_limited', detail, [], { retryAfter: retryAfterSeconds }),
  /** A user or API key holds as many WebSocket connections or event streams as allowed: another must close first. */
  tooManyConnections: (detail: string, limit: number) => new AppError('too_many_connections', detail, [], { limit }),
  ipBlocked: () => new AppError('ip_blocked', 'Requests from this address are not allowed'),
};
