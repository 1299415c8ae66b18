/**
 * Every API error is an RFC 9457 problem document (application/problem+json). The dashboard keeps it whole, so
 * a page can show its `detail` and `requestId`, and a form can put each `errors[]` entry at the field its JSON
 * pointer names.
 */
export interface FieldError {
  pointer: string;
  message: string;
}

export interface ProblemDocument {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  requestId?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export class ProblemError extends Error {
  readonly problem: ProblemDocument;

  constructor(problem: ProblemDocument) {
    super(problem.detail ?? problem.title ?? `Request failed (${problem.status})`);
    this.name = 'ProblemError';
    this.problem = problem;
  }

  get status(): number {
    return this.problem.status;
  }
  get code(): string | undefined {
    return this.problem.code;
  }
  get requestId(): string | undefined {
    return this.problem.requestId;
  }
  get fieldErrors(): FieldError[] {
    return this.problem.errors ?? [];
  }

  /** The message of the field error at `pointer` (exact), or under it when `prefix` is set. */
  errorAt(pointer: string, prefix = false): string | undefined {
    return this.fieldErrors.find((e) => (prefix ? e.pointer.startsWith(pointer) : e.pointer === pointer))?.message;
  }
}

/** Turns whatever a failed request produced (a problem body, another body, a network failure) into a ProblemError. */
export function toProblemError(body: unknown, response: Response | undefined): ProblemError {
  if (body && typeof body === 'object' && typeof (body as { status?: unknown }).status === 'number')
    return new ProblemError(body as ProblemDocument);
  const status = response?.status ?? 0;
  return new ProblemError({
    status,
    title: status === 0 ? 'Network error' : (response?.statusText ?? 'Error'),
    detail:
      status === 0
        ? 'Weir did not answer: check that the server is running and reachable.'
        : `The server answered ${status} ${response?.statusText ?? ''}`.trim(),
    requestId: response?.headers.get('x-request-id') ?? undefined,
  });
}

/** A readable message for any error a query or mutation can throw. */
export function messageOf(error: unknown): string {
  if (error instanceof ProblemError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
