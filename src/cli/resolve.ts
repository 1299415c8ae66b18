import { nearMatches } from '../pipelines/expr/suggest.js';
import { weirCommand } from '../weir-command.js';
import type { WeirClient } from './client.js';
import { CliFailure } from './command.js';
import { clean, formatDate, table, truncate } from './format.js';

/**
 * Names or ids on the command line: `weir datasets preview readings` as well as `… ds_01J…`. Every command that
 * takes a dataset or a pipeline (and the domains after them: models, connectors) resolves its argument here, through
 * the kind's list endpoint: its exact `?name=` filter, then its case-insensitive `?search=` for a name that differs
 * only in case, then the nearest names for the message when nothing matches.
 */
export interface ResourceKind {
  /** "dataset", as in messages. */
  noun: string;
  /** The id prefix: an argument of the id's form is taken as an id without asking the server. */
  prefix: string;
  /** The list endpoint: `?name=` (exact), `?search=` (case-insensitive substring), `?limit=`, answering `{ items, total }`. */
  path: string;
  /** The command that lists them, for messages. */
  listCommand: string;
}

export const DATASETS: ResourceKind = {
  noun: 'dataset',
  prefix: 'ds',
  path: '/api/v1/datasets',
  listCommand: weirCommand('datasets ls'),
};
export const PIPELINES: ResourceKind = {
  noun: 'pipeline',
  prefix: 'pl',
  path: '/api/v1/pipelines',
  listCommand: weirCommand('pipelines ls'),
};
export const CONNECTORS: ResourceKind = {
  noun: 'connector',
  prefix: 'con',
  path: '/api/v1/connectors',
  listCommand: weirCommand('connectors ls'),
};

/** What the list endpoints answer about each item, as far as resolving reads it. */
export interface Named {
  id: string;
  name: string;
  createdAt: string;
}

interface Page {
  items: Named[];
  total: number;
}

/** Candidates shown for an ambiguous name; the rest are counted. */
const LISTED = 20;
/** The list endpoints' largest page: how many names a "did you mean" looks at beyond those containing the argument. */
const SUGGESTION_POOL = 500;

const MAX_NAME = 200;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function looksLikeId(kind: ResourceKind, value: string): boolean {
  return value.startsWith(`${kind.prefix}_`) && ULID.test(value.slice(kind.prefix.length + 1));
}

/** The id `given` stands for: itself when it has the form of an id, else the one item of that name. */
export async function resolveId(client: WeirClient, kind: ResourceKind, given: string): Promise<string> {
  return looksLikeId(kind, given) ? given : (await resolveName(client, kind, given)).id;
}

/**
 * The one item named `given`: exactly, else ignoring case. Several of the same name are refused with the candidates
 * listed (exit code 1); none is refused with the nearest names.
 */
export async function resolveName(client: WeirClient, kind: ResourceKind, given: string): Promise<Named> {
  if (given.trim() === '') throw new CliFailure(`expected a ${kind.noun} name or id, got an empty argument`);
  // The server keeps names to 200 characters (and refuses longer filters): nothing can match.
  if ([...given].length > MAX_NAME) throw notFound(kind, given, []);
  const exact = await client.getJson<Page>(kind.path, { name: given, limit: LISTED });
  const only = exact.items[0];
  if (exact.total === 1 && only) return only;
  if (exact.total > 1) throw ambiguous(kind, given, exact.items, exact.total);
  const similar = await client.getJson<Page>(kind.path, { search: given, limit: SUGGESTION_POOL });
  const folded = similar.items.filter((i) => sameIgnoringCase(i.name, given));
  if (folded.length === 1) return folded[0]!;
  if (folded.length > 1) throw ambiguous(kind, given, folded, folded.length);
  // A misspelling contains no substring of the name: the newest names are what it is held against.
  const recent = await client.getJson<Page>(kind.path, { limit: SUGGESTION_POOL });
  throw notFound(
    kind,
    given,
    [...similar.items, ...recent.items].map((i) => i.name),
  );
}

function sameIgnoringCase(a: string, b: string): boolean {
  return a.localeCompare(b, undefined, { sensitivity: 'accent' }) === 0;
}

const quote = (name: string) => `"${truncate(clean(name), 60)}"`;

export function ambiguous(kind: ResourceKind, given: string, candidates: Named[], total: number): CliFailure {
  const rows = candidates.map((c) => [c.id, truncate(clean(c.name), 40), formatDate(c.createdAt)]);
  const lines = table(['ID', 'NAME', 'CREATED'], rows).split('\n');
  if (total > candidates.length) lines.push(`… and ${total - candidates.length} more (${kind.listCommand} --search)`);
  return new CliFailure(`${total} ${kind.noun}s are named ${quote(given)}; give the id of the one you mean:`, lines, {
    code: 'ambiguous_name',
    detail: `${total} ${kind.noun}s are named "${given}"`,
    candidates: candidates.map(({ id, name, createdAt }) => ({ id, name, createdAt })),
  });
}

export function notFound(kind: ResourceKind, given: string, names: string[]): CliFailure {
  const suggestions = nearMatches(given, new Set(names));
  const hint = suggestions.length > 0 ? `; did you mean ${suggestions.map(quote).join(' or ')}?` : '';
  return new CliFailure(
    `no ${kind.noun} is named ${quote(given)} in this workspace${hint} (see ${kind.listCommand})`,
    [],
    {
      code: 'name_not_found',
      detail: `no ${kind.noun} is named "${given}"`,
      suggestions,
    },
  );
}
