import type { Log } from '../../logger.js';

/**
 * The one interface every source type implements (ThingSpeak, HTTP JSON, MQTT, device push), so the safety layer,
 * the schedules, the live datasets and the sync history are the same code for all of them.
 */

/** A live dataset's column types: what a source's values are typed into on the way in. */
export type FieldType = 'double' | 'bigint' | 'boolean' | 'varchar' | 'timestamp';

export interface FieldSpec {
  name: string;
  type: FieldType;
}

/** One record as a source delivers it: raw values keyed by column name, typed later against the dataset's fields. */
export interface SourceRecord {
  /** Dedupe key: a record whose key was already stored is dropped (ThingSpeak entry_id, a key the user names). */
  key: string | null;
  /** Where the source stands after this record (ThingSpeak: its entry_id); null when the source has no cursor. */
  cursor: string | null;
  values: Record<string, unknown>;
}

/** Input from outside that is not a usable record: counted, logged with the connector id, kept in the sync history. */
export interface RejectedInput {
  reason: string;
  /** The first 200 characters of what was received, for the sync history. */
  sample?: string;
}

export interface PollResult {
  records: SourceRecord[];
  rejected: RejectedInput[];
  /** The cursor after this page (the last record's, or where the source says to continue); null = unchanged. */
  cursor: string | null;
  /** Another page is ready now (pagination, or a backfill range not yet exhausted). */
  more: boolean;
  /** Field names and types the source describes or that were inferred from this page (for `test` and creation). */
  fields?: FieldSpec[];
}

/** An HTTP request a source asks for; the safety layer rate-limits, caches, times out, retries and breaks it. */
export interface SourceRequest {
  url: string;
  headers?: Record<string, string>;
  /** Answer from the response cache when it holds this URL younger than the connector's cache TTL. */
  cacheable?: boolean;
}

export interface SourceResponse {
  status: number;
  headers: Record<string, string>;
  /** The body as text (capped by the safety layer); parsing it is the source's job, and bad JSON is data. */
  body: string;
  fromCache: boolean;
}

export type GuardedFetch = (request: SourceRequest, signal?: AbortSignal) => Promise<SourceResponse>;

export interface PollContext {
  fetch: GuardedFetch;
  signal: AbortSignal;
  log: Log;
}

/** A source that is asked for records: ThingSpeak over REST, HTTP JSON. */
export interface PollSource {
  /** The records after `cursor` (null: the newest the source offers), one page. */
  poll(cursor: string | null, ctx: PollContext): Promise<PollResult>;
  /** The records of [from, to], one page after `cursor` (null: from `from`); `more` until the range is done. */
  backfill(range: { from: Date; to: Date }, cursor: string | null, ctx: PollContext): Promise<PollResult>;
}

/** Where a streaming source puts what it receives. */
export interface RecordSink {
  /** Resolves once the records are durable (an MQTT QoS 1 PUBACK waits for it); never rejects for bad records. */
  append(records: SourceRecord[], rejected: RejectedInput[]): Promise<void>;
}

/** A source that delivers records by itself: an MQTT subscription. */
export interface StreamSource {
  start(sink: RecordSink): Promise<void>;
  /** Stops receiving; records already handed to the sink are finished first. */
  stop(): Promise<void>;
  /** 'connected' | 'reconnecting' | 'stopped', for the connector's state. */
  readonly status: string;
}
