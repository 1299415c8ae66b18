import { Type } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const UPLOAD_STATUSES = ['uploading', 'complete', 'ingesting', 'done', 'rejected', 'failed', 'expired'] as const;

export const UploadParams = Type.Object({
  id: Type.String({ pattern: '^up_[0-9A-HJKMNP-TV-Z]{26}$', description: 'Upload id (up_…)' }),
});

const ErrorSchema = Type.Object({
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
    ),
  ),
});

export const UploadViewSchema = Type.Object(
  {
    id: Type.String(),
    status: Type.Union(
      UPLOAD_STATUSES.map((s) => Type.Literal(s)),
      {
        description:
          'uploading → ingesting → done | rejected | failed; partial uploads end as complete; unfinished ones as expired',
      },
    ),
    filename: Type.String(),
    length: Nullable(Type.Integer({ description: 'Declared size in bytes; null while deferred' })),
    offset: Type.Integer({ description: 'Bytes stored so far: where a client resumes' }),
    percent: Nullable(Type.Number()),
    concat: Nullable(Type.Union([Type.Literal('partial'), Type.Literal('final')])),
    parts: Type.Array(Type.String(), { description: "A final upload's partial uploads, in order" }),
    metadata: Type.Record(Type.String(), Type.String()),
    datasetId: Nullable(Type.String()),
    versionId: Nullable(Type.String()),
    jobId: Nullable(Type.String({ description: 'The ingest job, once every byte is in' })),
    ingest: Nullable(Type.Object({ status: Type.String(), progress: Type.Number(), message: Nullable(Type.String()) })),
    duplicateOf: Nullable(Type.Object({ datasetId: Type.String(), versionId: Type.String() })),
    error: Nullable(ErrorSchema),
    expiresAt: Nullable(Type.String({ format: 'date-time' })),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    finishedAt: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'UploadView' },
);

export const UploadListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
    status: Type.Optional(Type.Union(UPLOAD_STATUSES.map((s) => Type.Literal(s)))),
  },
  { additionalProperties: false },
);

export const UploadListResponse = Type.Object({ items: Type.Array(Type.Ref('UploadView')), total: Type.Integer() });
