/**
 * The one error family of Weir. Services throw `AppError`s built by the factories below; the HTTP layer
 * (src/http/errors.ts) maps them to RFC 9457 problem+json. Anything that is not an AppError is an internal
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

const TITLES: Record<ErrorCode, string> = {
  bad_request: 'Bad request',
  validation_failed: 'Request validation failed',
  not_found: 'Not found',
  route_not_found: 'Route not found',
  method_not_allowed: 'Method not allowed',
  conflict: 'Conflict',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  unsupported_format: 'Unsupported file format',
  invalid_file: 'Invalid file',
  empty_file: 'Empty file',
  header_only: 'File has a header but no data rows',
  ragged_rows: 'Rows have inconsistent numbers of fields',
  binary_content: 'Binary content in a text file',
  unsupported_encoding: 'Unsupported text encoding',
  invalid_json: 'Invalid JSON dataset',
  invalid_parquet: 'Invalid Parquet file',
  invalid_xlsx: 'Invalid XLSX workbook',
  xlsx_too_large: 'Workbook exceeds the configured limits',
  too_many_columns: 'Too many columns',
  invalid_column_name: 'Invalid column name',
  line_too_long: 'Line too long',
  export_too_large: 'Dataset too large for the requested format',
  not_ready: 'Service not ready',
  unauthorized: 'Authentication required',
  forbidden: 'Permission denied',
  rate_limited: 'Too many requests',
  request_timeout: 'Request not received in time',
  too_many_connections: 'Too many open connections',
  ip_blocked: 'Address not allowed',
  self_lockout: 'The change would lock you out',
  invitation_expired: 'Invitation expired',
  invitation_not_pending: 'Invitation already answered or withdrawn',
  job_not_cancellable: 'Job cannot be cancelled',
  job_not_retryable: 'Job cannot be retried',
  precondition_failed: 'Precondition failed',
  offset_mismatch: 'Upload offset mismatch',
  checksum_mismatch: 'Checksum mismatch',
  upload_locked: 'Upload is being written by another request',
  upload_gone: 'Upload expired',
  quota_exceeded: 'Workspace storage quota exceeded',
  query_timeout: 'Query took too long',
  output_too_large: 'The work would make more rows than allowed',
  query_out_of_memory: 'The query needed more memory than allowed',
  internal: 'Internal server error',
};

export class AppError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly title: string;
  readonly errors: FieldError[];
  /** Extra members copied into the problem document (RFC 9457 extension members). */
  readonly extensions: Record<string, unknown>;

  constructor(
    status: number,
    code: ErrorCode,
    detail: string,
    errors: FieldError[] = [],
    extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.title = TITLES[code];
    this.errors = errors;
    this.extensions = extensions;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/** A rejected upload: 422 unless the problem is the media type itself (415) or the size (413). */
/** The HTTP status of a refused file by its code: 415 what Weir cannot read, 413 what is too large, else 422. */
export function rejectionStatus(code: string): number {
  return code === 'unsupported_format' || code === 'unsupported_encoding'
    ? 415
    : code === 'payload_too_large' || code === 'xlsx_too_large'
      ? 413
      : 422;
}

export function fileRejected(
  code: ErrorCode,
  detail: string,
  where: Partial<Omit<FieldError, 'message'>> = {},
): AppError {
  const status = rejectionStatus(code);
  const pointer = where.pointer ?? (where.line !== undefined ? `line ${where.line}` : '/file');
  return new AppError(status, code, detail, [{ ...where, pointer, message: detail }]);
}

export const errors = {
  badRequest: (detail: string, fieldErrors: FieldError[] = []) => new AppError(400, 'bad_request', detail, fieldErrors),
  validation: (detail: string, fieldErrors: FieldError[]) =>
    new AppError(400, 'validation_failed', detail, fieldErrors),
  notFound: (what: string, id: string) => new AppError(404, 'not_found', `${what} '${id}' does not exist`),
  conflict: (detail: string) => new AppError(409, 'conflict', detail),
  payloadTooLarge: (limitBytes: number, what = 'upload') =>
    new AppError(413, 'payload_too_large', `The ${what} exceeds the limit of ${limitBytes} bytes`, [], { limitBytes }),
  unsupportedMediaType: (detail: string) => new AppError(415, 'unsupported_media_type', detail),
  notReady: (detail: string, failing: string[]) => new AppError(503, 'not_ready', detail, [], { failing }),
  unauthorized: (detail = 'A valid access token or API key is required') => new AppError(401, 'unauthorized', detail),
  forbidden: (permission: string) =>
    new AppError(403, 'forbidden', `This action needs the permission '${permission}'`, [], { permission }),
  rateLimited: (retryAfterSeconds: number, detail = 'Too many requests; retry later') =>
    new AppError(429, 'rate_limited', detail, [], { retryAfter: retryAfterSeconds }),
  /** A user or API key holds as many WebSocket connections or event streams as allowed: another must close first. */
  tooManyConnections: (detail: string, limit: number) =>
    new AppError(429, 'too_many_connections', detail, [], { limit }),
  ipBlocked: () => new AppError(403, 'ip_blocked', 'Requests from this address are not allowed'),
};
