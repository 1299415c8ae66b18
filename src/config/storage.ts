import { ConfigError } from './reader.js';

/** Stored things: how long unfinished uploads and each blob area are kept, and when the storage sweep runs. */

export interface UploadsConfig {
  /** An unfinished tus upload not touched for this long expires (Upload-Expires) and is swept, in ms. */
  expiryMs: number;
  /** Bytes a workspace may hold in datasets plus unfinished uploads; null = no quota. */
  workspaceQuotaBytes: number | null;
}

/** How long each kind of stored thing is kept, in ms; null = until deleted. */
export interface RetentionConfig {
  /** Scratch files of this process (`<dataDir>/tmp`) that nothing holds open. */
  tmpMs: number;
  /** `uploads/` blobs no unfinished upload or job refers to. */
  uploadsMs: number;
  /** What finished jobs leave behind (their kind's artifacts, e.g. the upload a failed ingest kept). */
  jobArtifactsMs: number;
  logsMs: number;
  cacheMs: number;
  exportsMs: number;
  /** When the storage sweep runs: a 5-field cron expression (UTC). */
  sweepCron: string;
}

/** Five cron fields (minute hour day-of-month month day-of-week) of digits, `*`, `/`, `,` and `-` (croner checks the rest). */
export function parseCron(v: string): string {
  const fields = v.trim().split(/\s+/);
  if (fields.length !== 5 || !fields.every((f) => /^[\d*/,-]+$/.test(f)))
    throw new ConfigError('WEIR_STORAGE_SWEEP_CRON', 'a 5-field cron expression such as "17 * * * *"', v);
  return fields.join(' ');
}
