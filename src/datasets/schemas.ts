import { Type, type Static } from 'typebox';
import { Id, NullableString, StringEnum } from '../http/schema-types.js';
import type { SourceFormat } from './sniff.js';

const FORMATS: readonly SourceFormat[] = ['csv', 'ndjson', 'json', 'parquet', 'xlsx'];
const Format = StringEnum(FORMATS);

/** Keep only the N newest versions (the storage sweep deletes older ones, never the latest); null = keep all. */
const KeepVersions = Type.Unsafe<number | null>({
  type: ['integer', 'null'],
  minimum: 1,
  maximum: 1_000_000,
  description:
    'Keep only this many newest versions (older ones are deleted by the storage sweep, never the latest); null = keep all',
});

const ColumnSchema = Type.Object({ name: Type.String(), type: Type.String(), nullable: Type.Boolean() });

export const VersionSchema = Type.Object(
  {
    id: Type.String(),
    datasetId: Type.String(),
    workspaceId: Type.String(),
    number: Type.Integer({ description: '1 for the first version, then counting up' }),
    sourceFilename: Type.String(),
    sourceFormat: Format,
    sourceEncoding: NullableString({ description: 'Detected text encoding of the upload (converted to UTF-8)' }),
    sourceBytes: Type.Integer(),
    sha256: NullableString({ description: 'SHA-256 of the uploaded bytes (hex)' }),
    parquetBytes: Type.Integer(),
    rowCount: Type.Integer(),
    schema: Type.Array(ColumnSchema),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'DatasetVersion' },
);

const { schema: _schema, ...versionSummaryProperties } = VersionSchema.properties;
export const VersionSummarySchema = Type.Object(
  { ...versionSummaryProperties, columnCount: Type.Integer() },
  { $id: 'DatasetVersionSummary', description: 'A version without its column schema (in listings)' },
);

export const DatasetSchema = Type.Object(
  {
    id: Type.String(),
    workspaceId: Type.String(),
    name: Type.String(),
    description: Type.String(),
    tags: Type.Array(Type.String()),
    format: Format,
    versionCount: Type.Integer(),
    keepVersions: KeepVersions,
    latestVersion: Type.Ref('DatasetVersion'),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Dataset' },
);

export const IngestResponse = Type.Object({
  ...DatasetSchema.properties,
  version: Type.Ref('DatasetVersion'),
  duplicateOf: Type.Union([Type.Object({ datasetId: Type.String(), versionId: Type.String() }), Type.Null()], {
    description: 'Set when identical bytes were already stored in this workspace; nothing new was written',
  }),
});

export const DatasetParams = Type.Object({ id: Id('ds', 'Dataset id') });
export const VersionQuery = Type.Object(
  { version: Type.Optional(Id('dv', 'Version id (default: the latest)')) },
  { additionalProperties: false },
);

export const UploadQuery = Type.Object(
  {
    wait: Type.Boolean({
      default: false,
      description:
        'true: wait for the ingest job and answer 201 with the dataset (or the refusal). false (default): answer 202 once the file is stored durably, and ingest in a job (poll GET /api/v1/jobs/{jobId}).',
    }),
  },
  { additionalProperties: false },
);

export const IngestAccepted = Type.Object({
  datasetId: Type.String({
    description:
      'The dataset the upload creates or extends (unless the job finds the bytes were a duplicate: see its result)',
  }),
  jobId: Type.String({
    description: 'The ingest job: GET /api/v1/jobs/{jobId}; its result is the dataset with the new version',
  }),
  status: Type.Literal('queued'),
});

export const MAX_TAGS = 20;
export const TAG_PATTERN = '^[^\\u0000-\\u001f,]{1,64}$';
const Name = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$',
  description: 'Text without control characters',
});
const Description = Type.String({ maxLength: 4000 });
const Tag = Type.String({ pattern: TAG_PATTERN });

/** The multipart form of an upload, for the OpenAPI document (the body is streamed, not validated by Ajv). */
export const UploadForm = Type.Object({
  file: Type.String({ format: 'binary', description: 'CSV/TSV, NDJSON, JSON array of objects, Parquet or XLSX' }),
  name: Type.Optional(Type.String({ description: 'Dataset name (default: the file name)' })),
  description: Type.Optional(Type.String()),
  tags: Type.Optional(Type.String({ description: 'Comma-separated tags, or the field repeated' })),
});

export const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
    search: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive substring of the name' })),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          'Exactly this name, case-sensitive (names are not unique: more than one item means the name is ambiguous)',
      }),
    ),
    tag: Type.Optional(Type.String({ maxLength: 64 })),
    format: Type.Optional(Format),
    createdAfter: Type.Optional(Type.String({ format: 'date-time' })),
    createdBefore: Type.Optional(Type.String({ format: 'date-time' })),
    sort: StringEnum(['createdAt', '-createdAt', 'name', '-name', 'updatedAt', '-updatedAt'] as const, {
      default: '-createdAt',
    }),
  },
  { additionalProperties: false },
);
export type ListQueryT = Static<typeof ListQuery>;

export const DatasetSummarySchema = Type.Object(
  { ...DatasetSchema.properties, latestVersion: Type.Ref('DatasetVersionSummary') },
  { $id: 'DatasetSummary' },
);

export const ListResponse = Type.Object({
  items: Type.Array(Type.Ref('DatasetSummary')),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export const PreviewQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
    // Past 2^53 a number is no longer exact (and DuckDB's OFFSET is a BIGINT): a bound, not a row count anyone has.
    offset: Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      default: 0,
      description: 'Rows to skip; past the end the page is empty',
    }),
    columns: Type.Optional(Type.String({ description: 'Comma-separated column names (default: all)' })),
    version: Type.Optional(Id('dv', 'Version id (default: the latest)')),
  },
  { additionalProperties: false },
);

export const PreviewResponse = Type.Object({
  columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })),
  rows: Type.Array(Type.Array(Type.Unknown())),
  total: Type.Integer({ description: 'Rows in the version' }),
  versionId: Type.String(),
});

const Num = Type.Union([Type.Number(), Type.Null()]);
export const ProfileResponse = Type.Object({
  versionId: Type.String(),
  rowCount: Type.Integer(),
  columns: Type.Array(
    Type.Object({
      name: Type.String(),
      type: Type.String(),
      count: Type.Integer(),
      nulls: Type.Integer(),
      distinctEstimate: Type.Integer({
        description:
          'Distinct non-null values: exact when `distinctExact`, else an estimate (HyperLogLog, a few percent off)',
      }),
      distinctExact: Type.Boolean({ description: 'Whether `distinctEstimate` is an exact count' }),
      min: Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]),
      max: Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]),
      mean: Num,
      stddev: Num,
      quantiles: Type.Union([
        Type.Object({
          p05: Type.Number(),
          p25: Type.Number(),
          p50: Type.Number(),
          p75: Type.Number(),
          p95: Type.Number(),
        }),
        Type.Null(),
      ]),
      topValues: Type.Union([Type.Array(Type.Object({ value: Type.String(), count: Type.Integer() })), Type.Null()]),
      histogram: Type.Union([
        Type.Array(Type.Object({ start: Type.Number(), end: Type.Number(), count: Type.Integer() })),
        Type.Null(),
      ]),
      range: Type.Union([Type.Object({ min: Type.String(), max: Type.String() }), Type.Null()]),
    }),
  ),
});

export const DownloadQuery = Type.Object(
  {
    format: StringEnum(FORMATS, { default: 'csv' }),
    version: Type.Optional(Id('dv', 'Version id (default: the latest)')),
  },
  { additionalProperties: false },
);

export const PatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    tags: Type.Optional(Type.Array(Tag, { maxItems: MAX_TAGS })),
    keepVersions: Type.Optional(KeepVersions),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type PatchBodyT = Static<typeof PatchBody>;

export const UploadFields = { Name, Description, Tag };
