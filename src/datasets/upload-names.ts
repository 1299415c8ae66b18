import type { FieldError } from '../errors.js';

/**
 * The names a client gives an upload, checked by the same rules whichever way the file comes (a multipart form or
 * tus `Upload-Metadata`), each problem reported at the caller's pointer for that field. A dataset name is text
 * without control characters; a file name is also a single name, not a path: it is shown, logged and offered
 * back in downloads, where a separator or a NUL would mean something else.
 */

export const MAX_NAME_CHARS = 200;
export const MAX_FILENAME_CHARS = 255;

// eslint-disable-next-line no-control-regex -- control characters are exactly what names may not contain
const CONTROL = /[\u0000-\u001f\u007f]/;
const SEPARATOR = /[/\\]/;

export interface UploadNames {
  name?: string;
  filename?: string;
}

/** Problems of the fields given (absent ones are not checked), at `pointers` in the caller's request. */
export function uploadNameErrors(names: UploadNames, pointers: { name: string; filename: string }): FieldError[] {
  const problems: FieldError[] = [];
  const { name, filename } = names;
  if (name !== undefined) {
    if (name.trim() === '' || CONTROL.test(name))
      problems.push({ pointer: pointers.name, message: 'must be non-empty text without control characters' });
    else if (name.length > MAX_NAME_CHARS)
      problems.push({ pointer: pointers.name, message: `must be at most ${MAX_NAME_CHARS} characters` });
  }
  if (filename !== undefined) {
    if (filename.trim() === '' || CONTROL.test(filename))
      problems.push({
        pointer: pointers.filename,
        message: 'must be a non-empty file name without control characters',
      });
    else if (SEPARATOR.test(filename) || filename === '.' || filename === '..')
      problems.push({ pointer: pointers.filename, message: 'must be a file name, not a path (no / or \\)' });
    else if (filename.length > MAX_FILENAME_CHARS)
      problems.push({ pointer: pointers.filename, message: `must be at most ${MAX_FILENAME_CHARS} characters` });
  }
  return problems;
}
