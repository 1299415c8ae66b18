import { Type } from 'typebox';
import { Id, NullableString, StringEnum } from '../http/schema-types.js';
import { JOB_STATUSES } from './types.js';

const Status = StringEnum(JOB_STATUSES);

export const JobErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(
    Type.Array(
      Type.Object({
        pointer: Type.String(),
        message: Type.String(),
        line: Type.Optional(Type.Integer()),
        row: Type.Optional(Type.Integer()),
      }),
      {
        description: "Where a rejected input went wrong (as in a problem document's errors[])",
      },
    ),
  ),
});

export const JobSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.String(),
    workspaceId: Type.String(),
    createdBy: NullableString({ description: 'User who created the job; null for jobs the system schedules' }),
    parentId: NullableString(),
    payload: Type.Unknown(),
    status: Status,
    priority: Type.Integer({ description: 'Higher runs first among queued jobs of a kind' }),
    progress: Type.Number({ minimum: 0, maximum: 100 }),
    progressMessage: NullableString(),
    progressData: Type.Unknown(),
    attempts: Type.Integer({ description: 'Attempts started so far' }),
    maxAttempts: Type.Integer(),
    timeoutMs: Type.Integer(),
    result: Type.Unknown({ description: 'What the handler returned (succeeded jobs)' }),
    error: Type.Union([JobErrorSchema, Type.Null()], {
      description: 'The failure of the last attempt: a stable code and a message',
    }),
    cancelRequested: Type.Boolean(),
    createdAt: Type.String({ format: 'date-time' }),
    startedAt: NullableString({ format: 'date-time', description: 'Start of the latest attempt' }),
    finishedAt: NullableString({ format: 'date-time' }),
    runAfter: Type.String({ format: 'date-time', description: 'Earliest start of the next attempt' }),
  },
  { $id: 'Job' },
);

/** The answer to a retry: the job queued again, and how it ended before (what the caller chose to run again). */
export const RetriedJobSchema = Type.Object({
  ...JobSchema.properties,
  previousError: Type.Union([JobErrorSchema, Type.Null()], {
    description:
      'How the job ended before this retry (null when it was cancelled without error). `worker_lost`: its attempts kept ending with the worker process killed (e.g. past its memory limit)',
  }),
});

export const JobParams = Type.Object({ id: Id('job', 'Job id') });

export const JobListQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Array(Status, { maxItems: 5, description: 'Repeat for several: ?status=failed&status=cancelled' }),
    ),
    kind: Type.Optional(Type.String({ maxLength: 64 })),
    parentId: Type.Optional(Id('job', 'Only children of this job')),
    createdAfter: Type.Optional(Type.String({ format: 'date-time' })),
    createdBefore: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
);

export const JobListResponse = Type.Object({
  items: Type.Array(Type.Ref('Job')),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export const StatsQuery = Type.Object(
  { days: Type.Integer({ minimum: 1, maximum: 366, default: 7 }) },
  { additionalProperties: false },
);

const StatusCounts = Type.Object(
  Object.fromEntries(JOB_STATUSES.map((s) => [s, Type.Integer()])) as Record<
    (typeof JOB_STATUSES)[number],
    ReturnType<typeof Type.Integer>
  >,
);
const NullableNumber = Type.Unsafe<number | null>({ type: ['number', 'null'] });

export const StatsResponse = Type.Object({
  days: Type.Integer(),
  since: Type.String({ format: 'date-time', description: '00:00 UTC of the first day of the window' }),
  total: Type.Integer({ description: 'Jobs created in the window' }),
  byStatus: StatusCounts,
  byKind: Type.Array(Type.Object({ kind: Type.String(), total: Type.Integer(), byStatus: StatusCounts })),
  successRate: Type.Unsafe<number | null>({
    type: ['number', 'null'],
    description: 'succeeded / (succeeded + failed); null when none',
  }),
  durationMs: Type.Object({
    p50: NullableNumber,
    p95: NullableNumber,
    count: Type.Integer({ description: 'Succeeded and failed jobs measured' }),
  }),
  daily: Type.Array(
    Type.Object({
      date: Type.String({ description: 'YYYY-MM-DD (UTC)' }),
      created: Type.Integer(),
      succeeded: Type.Integer(),
      failed: Type.Integer(),
    }),
  ),
});
