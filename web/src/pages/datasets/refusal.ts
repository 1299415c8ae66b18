/**
 * Why a file was refused, in words a person can act on: the server's message and, for a file refused for its
 * content, each place it went wrong with its line. A refusal reaches the page three ways, all read here into one
 * shape: a tus request answered with a problem document (the first bytes were refused while uploading), an
 * upload's stored error (GET /api/v1/uploads/:id), or the ingest job's error (rendered by JobProgress).
 */
export interface Refusal {
  message: string;
  /** Where the file went wrong; `line` is 1-based in the file as uploaded. */
  places: { message: string; line?: number; row?: number }[];
  requestId?: string;
}

interface ErrorEntry {
  message?: unknown;
  line?: unknown;
  row?: unknown;
}

function placesOf(entries: unknown): Refusal['places'] {
  if (!Array.isArray(entries)) return [];
  return (entries as ErrorEntry[])
    .filter((e) => e && typeof e.message === 'string')
    .map((e) => ({
      message: e.message as string,
      ...(typeof e.line === 'number' ? { line: e.line } : {}),
      ...(typeof e.row === 'number' ? { row: e.row } : {}),
    }));
}

/** A problem document's body (RFC 9457, with Weir's `errors[]`), or null when the body is not one. */
export function refusalFromProblemBody(body: string, status: number): Refusal | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object') return null;
  const p = parsed as { detail?: unknown; title?: unknown; errors?: unknown; requestId?: unknown };
  const message =
    typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : `The server answered ${status}`;
  return {
    message,
    places: placesOf(p.errors),
    ...(typeof p.requestId === 'string' ? { requestId: p.requestId } : {}),
  };
}

/** An upload's stored error (`UploadView.error`). */
export function refusalFromUploadError(error: { message: string; details?: unknown } | null | undefined): Refusal {
  return { message: error?.message ?? 'The file was refused', places: placesOf(error?.details) };
}

/**
 * The refusal as lines of text: each place prefixed with its line (or row), and the overall message first unless a
 * place already says the same thing.
 */
export function refusalLines(refusal: Refusal): string[] {
  const places = refusal.places.map((p) => {
    const where = p.line !== undefined ? `Line ${p.line}: ` : p.row !== undefined ? `Row ${p.row}: ` : '';
    return `${where}${p.message}`;
  });
  const repeated = refusal.places.some((p) => p.message === refusal.message);
  return repeated ? places : [refusal.message, ...places];
}
