/**
 * Test support for step modules: one step compiled and run over a small table in a real DuckDB, rows returned as
 * plain JSON values (timestamps as ISO 8601 text) so tests can compare them exactly.
 */
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { ColumnSchema } from '../../engine/sql.js';
import { toPlain } from '../../engine/duckdb.js';
import type { CompiledStep, DatasetRef, ResolvedDataset, StepInput, StepKind } from './types.js';

export interface StepTable {
  /** `CREATE TABLE t AS <this>`: e.g. `SELECT * FROM (VALUES (1, 'a'), (2, NULL)) v(id, name)`. */
  sql: string;
  /** Other tables a join may read, by dataset id: each `CREATE TABLE "<id>" AS <sql>`. */
  others?: Record<string, string>;
}

export interface StepResult {
  compiled: CompiledStep;
  columns: ColumnSchema[];
  rows: Record<string, unknown>[];
  /** What the step's `knownRows` query counted, when it has one (it must equal `rows.length`). */
  counted?: number;
}

let shared: Promise<DuckDBInstance> | null = null;

/** One connection per call on a shared in-memory instance (session time zone UTC, as Engine.open sets it). */
async function connect(): Promise<DuckDBConnection> {
  shared ??= DuckDBInstance.create(':memory:');
  const connection = await (await shared).connect();
  await connection.run("SET TimeZone = 'UTC'");
  return connection;
}

async function schemaOf(
  connection: DuckDBConnection,
  sql: string,
  params: DuckDBValue[] = [],
): Promise<ColumnSchema[]> {
  const reader = await connection.runAndReadAll(`SELECT * FROM (${sql}) AS described LIMIT 0`, params);
  const names = reader.columnNames();
  return reader.columnTypes().map((t, i) => ({ name: names[i]!, type: t.toString(), nullable: true }));
}

/**
 * Compiles `step` with `kind` over a temporary table made by `table.sql` and runs it; `orderBy`, when given, is
 * appended so the test compares a fixed order (steps without an order of their own promise none).
 */
export async function runStep<T extends { type: string }>(
  kind: StepKind<T>,
  step: T,
  table: StepTable,
  options: { orderBy?: string } = {},
): Promise<StepResult> {
  return withTable(table, async (connection, input) => {
    const compiled = await kind.compile(step, input);
    const params: DuckDBValue[] = compiled.params;
    const sql = options.orderBy ? `SELECT * FROM (${compiled.sql}) AS out ORDER BY ${options.orderBy}` : compiled.sql;
    const columns = await schemaOf(connection, compiled.sql, params);
    const reader = await connection.runAndReadAll(sql, params);
    const rows = reader.getRowObjectsJS().map((row) => toPlain(row) as Record<string, unknown>);
    if (!compiled.knownRows) return { compiled, columns, rows };
    return { compiled, columns, rows, counted: await count(connection, compiled) };
  });
}

/** Compiles `step` over `table` and runs only its `knownRows` count (the step itself could be far too big to run). */
export async function countStep<T extends { type: string }>(
  kind: StepKind<T>,
  step: T,
  table: StepTable,
): Promise<number | undefined> {
  return withTable(table, async (connection, input) => {
    const compiled = await kind.compile(step, input);
    return compiled.knownRows ? count(connection, compiled) : undefined;
  });
}

async function count(connection: DuckDBConnection, compiled: CompiledStep): Promise<number> {
  const reader = await connection.runAndReadAll(
    `SELECT rows FROM (${compiled.knownRows!.sql}) AS counted`,
    compiled.knownRows!.params,
  );
  return Number(reader.getRowObjectsJS()[0]?.rows);
}

/** `fn` with the step input of a temporary table made by `table.sql` (and the tables a join may read), dropped after. */
async function withTable<R>(
  table: StepTable,
  fn: (connection: DuckDBConnection, input: StepInput) => Promise<R>,
): Promise<R> {
  const connection = await connect();
  const suffix = Math.random().toString(36).slice(2);
  const from = `"t_${suffix}"`;
  const created: string[] = [from];
  try {
    await connection.run(`CREATE TEMP TABLE ${from} AS ${table.sql}`);
    const others = new Map<string, string>();
    for (const [id, sql] of Object.entries(table.others ?? {})) {
      const name = `"o_${suffix}_${id.replace(/\W/g, '_')}"`;
      await connection.run(`CREATE TEMP TABLE ${name} AS ${sql}`);
      created.push(name);
      others.set(id, name);
    }
    const input: StepInput = {
      from,
      schema: await schemaOf(connection, `SELECT * FROM ${from}`),
      pointer: '/steps/0',
      paramOffset: 0,
      async resolveDataset(ref: DatasetRef): Promise<ResolvedDataset> {
        const relation = others.get(ref.datasetId);
        if (!relation) throw new Error(`test table for dataset ${ref.datasetId} not given`);
        return {
          datasetId: ref.datasetId,
          versionId: ref.versionId ?? 'dv_latest',
          relation,
          schema: await schemaOf(connection, `SELECT * FROM ${relation}`),
        };
      },
    };
    return await fn(connection, input);
  } finally {
    for (const name of created) await connection.run(`DROP TABLE IF EXISTS ${name}`).catch(() => undefined);
    connection.closeSync();
  }
}
