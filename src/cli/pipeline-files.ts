import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';

/**
 * Pipeline definition files as the pipeline commands read them (`-` reads stdin), all JSON objects:
 *   - a bare definition: `{ "input": …, "steps": […], "output": … }`;
 *   - `{ "definition": …, "params": … }`, what preview's --json accepts back;
 *   - `{ "name": …, "description": …, "definition": … }`, what `weir pipelines show --json` prints (save and update).
 */
export interface DefinitionFile {
  definition: unknown;
  params: Record<string, unknown>;
  name?: string;
  description?: string;
}

export async function readDefinitionFile(file: string): Promise<DefinitionFile> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!isObject(parsed)) throw new Error(`${file} must hold a JSON object (a pipeline definition)`);
  if (!('definition' in parsed)) return { definition: parsed, params: {} };
  const field = (key: string) => (typeof parsed[key] === 'string' ? parsed[key] : undefined);
  return {
    definition: parsed.definition,
    params: isObject(parsed.params) ? parsed.params : {},
    name: field('name'),
    description: field('description'),
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Whether a `<file|pipeline>` argument names a file: `-`, anything ending in .json or holding a path separator, or
 * a file that exists. Anything else is a saved pipeline's name or id.
 */
export async function isFileArgument(value: string): Promise<boolean> {
  if (value === '-' || /\.json$/i.test(value) || value.includes('/') || value.includes(path.sep)) return true;
  return (await fs.stat(value).catch(() => null))?.isFile() ?? false;
}

/** The definition with `output.name` set (`--name`): the run adds a version to the dataset of that name, or creates it. */
export function withOutputName(definition: unknown, name: string): unknown {
  if (!isObject(definition)) return definition;
  const output = isObject(definition.output) ? definition.output : {};
  if (output.datasetId !== undefined) {
    throw new Error(
      '--name cannot be used with a definition whose output.datasetId names the dataset to add to; remove one of them',
    );
  }
  return { ...definition, output: { ...output, name } };
}

/** `--param name=value` (repeatable): the value is read as JSON when it parses (20, true, "x"), else as text. */
export function collectParam(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected name=value');
  const name = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // Plain text: `--param site=north` needs no quotes.
  }
  return { ...previous, [name]: parsed };
}
