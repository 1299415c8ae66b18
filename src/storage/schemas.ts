import { Type, type TSchema } from 'typebox';
import { BLOB_AREAS } from '../blobs/types.js';
import { Id, NullableString, StringEnum } from '../http/schema-types.js';
import { JobSchema } from '../jobs/schemas.js';
import { SWEEP_AREAS } from './policy.js';

const Integer = Type.Integer({ minimum: 0 });
const NullableInteger = (description: string) => Type.Unsafe<number | null>({ type: ['integer', 'null'], description });
const Usage = {
  objects: Integer,
  bytes: Integer,
  oldest: NullableString({ format: 'date-time', description: 'Modification time of the oldest object' }),
};
const Totals = Type.Object({ objects: Integer, bytes: Integer });
const perArea = <T extends TSchema>(schema: T, areas: readonly string[]) =>
  Type.Object(Object.fromEntries(areas.map((a) => [a, schema])) as Record<string, T>);

/** A storage sweep's job, as GET /api/v1/jobs/:id shows other jobs (sweeps live in the system workspace). */
export const SweepJob = Type.Object(JobSchema.properties, {
  description: 'The storage.sweep job: status, progress, and its SweepResult as `result` once it succeeded',
});

export const SweepResultSchema = Type.Object(
  {
    dryRun: Type.Boolean(),
    scheduledFor: NullableString({ format: 'date-time' }),
    startedAt: Type.String({ format: 'date-time' }),
    finishedAt: Type.String({ format: 'date-time' }),
    areas: perArea(Totals, SWEEP_AREAS),
    total: Totals,
    expiredUploads: Type.Object({ uploads: Integer, objects: Integer, bytes: Integer }),
    prunedVersions: Type.Object({ versions: Integer, datasets: Integer, objects: Integer, bytes: Integer }),
    jobArtifacts: Type.Object({
      jobs: Integer,
      objects: Integer,
      bytes: Integer,
      since: NullableString({ format: 'date-time' }),
      until: NullableString({ format: 'date-time' }),
    }),
    orphans: Type.Object(
      { objects: Integer, bytes: Integer },
      { description: 'Model files no model version refers to, older than a day (left by a training killed mid-way)' },
    ),
  },
  {
    description:
      'What the sweep deleted (or, in a dry run, would delete): per area (`tmp` is the scratch space of the node that ran it) and per rule',
  },
);

export const StorageStatsResponse = Type.Object({
  driver: StringEnum(['local', 's3'] as const),
  walkedAt: Type.String({
    format: 'date-time',
    description: 'When the store was walked (reused for about 30 s unless ?fresh=true)',
  }),
  walkMs: Integer,
  areas: Type.Array(
    Type.Object({
      area: StringEnum(BLOB_AREAS),
      ...Usage,
      workspaces: Type.Array(Type.Object({ workspaceId: Type.String(), ...Usage }), { description: 'Largest first' }),
    }),
  ),
  totals: Type.Object(Usage),
  disk: Type.Union([Type.Object({ freeBytes: Integer, totalBytes: Integer }), Type.Null()], {
    description: 'The file system of the data directory (local driver); null with S3',
  }),
  retention: Type.Object({
    areas: perArea(NullableInteger('Retention in ms; null = kept until deleted'), SWEEP_AREAS),
    jobArtifactsMs: Integer,
    cron: Type.String({ description: 'WEIR_STORAGE_SWEEP_CRON' }),
    timezone: Type.Literal('UTC'),
    nextRun: NullableString({ format: 'date-time' }),
  }),
  lastSweep: Type.Union([
    Type.Object({
      id: Type.String(),
      status: StringEnum(['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const),
      scheduledFor: NullableString({
        format: 'date-time',
        description: 'The cron fire time; null for a sweep started by hand',
      }),
      startedAt: NullableString({ format: 'date-time' }),
      finishedAt: NullableString({ format: 'date-time' }),
      dryRun: Type.Boolean(),
      jobId: NullableString(),
      result: Type.Unknown({ description: 'The SweepResult, or {error}' }),
    }),
    Type.Null(),
  ]),
});

export const StatsQuery = Type.Object(
  {
    fresh: Type.Boolean({
      default: false,
      description: 'Walk the store now instead of reusing a walk of the last 30 s',
    }),
  },
  { additionalProperties: false },
);

export const SweepBody = Type.Object(
  { dryRun: Type.Boolean({ default: false, description: 'Report what would be deleted, delete nothing' }) },
  { additionalProperties: false },
);

export const SweepQuery = Type.Object(
  {
    wait: Type.Boolean({
      default: false,
      description:
        'Wait up to 60 s for the sweep and answer 200 with the finished job (202 if it is still running then)',
    }),
  },
  { additionalProperties: false },
);

export const SweepParams = Type.Object({ id: Id('job', 'The sweep job id') });
