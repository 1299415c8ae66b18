import type { FastifyRequest } from 'fastify';
import type { Scratch } from '../blobs/scratch.js';
import { errors, type FieldError } from '../errors.js';
import { unsupportedMediaType } from '../http/media-types.js';
import { receiveToFile, type ReceivedFile } from './receive.js';
import { MAX_TAGS } from './schemas.js';
import { uploadNameErrors } from './upload-names.js';

export interface UploadForm {
  file: ReceivedFile;
  name?: string;
  description?: string;
  tags: string[];
}

/** A new dataset takes its name, description and tags from the form; a new version only its file. */
const FIELDS = { dataset: new Set(['name', 'description', 'tags']), version: new Set<string>() };
/** Where the shared name rules (upload-names.ts) report in a form: the file part carries the file name. */
const NAME_POINTERS = { name: '/name', filename: '/file' };
/** Room for the multipart boundaries, part headers and text fields around the file. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;
// eslint-disable-next-line no-control-regex -- control characters are exactly what names and tags may not contain
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Reads a multipart upload: the file is streamed to scratch space as it arrives (fields may come before or after
 * it), the text fields are checked like a JSON body would be. On any error the partial file is removed.
 */
export async function readUploadForm(
  request: FastifyRequest,
  scratch: Scratch,
  maxBytes: number,
  kind: 'dataset' | 'version',
): Promise<UploadForm> {
  // A body some other parser took (JSON, text): refused like one no parser took, naming what the route takes.
  if (!request.isMultipart()) throw unsupportedMediaType(request);
  // A declared length far over the limit is refused before reading a byte; the form fields' overhead is small.
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes + FORM_OVERHEAD_BYTES)
    throw errors.payloadTooLarge(maxBytes, 'file');
  const allowed = FIELDS[kind];
  const problems: FieldError[] = [];
  const fields: Record<string, string[]> = {};
  let file: ReceivedFile | undefined;
  let partial: string | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file' || file) {
          part.file.resume();
          problems.push({
            pointer: `/${part.fieldname}`,
            message:
              part.fieldname === 'file'
                ? 'only one file per upload'
                : 'unexpected file part; send the dataset in the "file" part',
          });
          continue;
        }
        // The form's own file name (sent with its path, if the client sent one: multipart preservePath).
        const named = uploadNameErrors({ filename: part.filename || undefined }, NAME_POINTERS);
        if (named.length > 0) {
          part.file.resume();
          problems.push(...named);
          continue;
        }
        partial = scratch.file('.upload');
        file = await receiveToFile(part.file, partial, part.filename || 'upload', maxBytes);
      } else {
        if (!allowed.has(part.fieldname)) {
          const message =
            kind === 'version' && FIELDS.dataset.has(part.fieldname)
              ? 'belongs to the dataset, not a version: change it with PATCH /api/v1/datasets/:id'
              : `is not an allowed field (file${[...allowed].map((f) => `, ${f}`).join('')})`;
          problems.push({ pointer: `/${part.fieldname}`, message });
          continue;
        }
        (fields[part.fieldname] ??= []).push(String(part.value));
      }
    }
  } catch (e) {
    await scratch.remove(partial);
    throw e;
  }
  if (!file && !problems.some((p) => p.pointer === '/file'))
    problems.push({ pointer: '/file', message: 'is required' });

  /** `max`: the length limit, unless a shared rule checks the field. */
  const single = (key: string, max?: number): string | undefined => {
    const values = fields[key];
    if (!values) return undefined;
    if (values.length > 1) problems.push({ pointer: `/${key}`, message: 'must be given once' });
    const v = values[0]!.trim();
    if (max !== undefined && v.length > max)
      problems.push({ pointer: `/${key}`, message: `must be at most ${max} characters` });
    return v;
  };
  const name = single('name');
  problems.push(...uploadNameErrors({ name }, NAME_POINTERS));
  const description = single('description', 4000);
  const tags = [
    ...new Set(
      (fields.tags ?? [])
        .flatMap((t) => t.split(','))
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ].sort();
  if (tags.length > MAX_TAGS) problems.push({ pointer: '/tags', message: `at most ${MAX_TAGS} tags` });
  for (const t of tags)
    if (t.length > 64 || CONTROL.test(t))
      problems.push({
        pointer: '/tags',
        message: `tag '${t.slice(0, 64)}' must be 1-64 characters without control characters`,
      });

  if (problems.length > 0) {
    await scratch.remove(file?.path);
    throw errors.validation(problems.map((p) => `${p.pointer} ${p.message}`).join('; '), problems);
  }
  return { file: file!, name, description, tags };
}
