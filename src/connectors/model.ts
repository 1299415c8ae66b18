import type { Static } from 'typebox';
import type { FieldSpec } from './sources/types.js';
import type { LivePolicy } from '../live/writer.js';
import type { ConnectorHealthSchema, SyncSchema } from './schemas.js';

export type ConnectorType = 'thingspeak' | 'http' | 'mqtt' | 'push';

/** Per-source safety: the same settings, and the same code (src/connectors/safety.ts), for every source type. */
export interface SafetySettings {
  requestsPerMinute: number;
  timeoutMs: number;
  retries: number;
  breakerFailures: number;
  breakerResetMs: number;
  cacheTtlMs: number;
  /** Consecutive failed syncs after which the connector pauses itself (a person resumes it). */
  pauseAfterFailures: number;
  /** No record for this long marks the connector stale (an event on the bus, for alerting). */
  staleAfterMinutes: number;
}

/** The IoT backend Weir replaces: 15 requests a minute a channel, open after 5 failures, a 5-minute cache. */
export const DEFAULT_SAFETY: SafetySettings = {
  requestsPerMinute: 15,
  timeoutMs: 10_000,
  retries: 2,
  breakerFailures: 5,
  breakerResetMs: 30_000,
  cacheTtlMs: 300_000,
  pauseAfterFailures: 10,
  staleAfterMinutes: 60,
};

/** What the database holds of a connector. `config` has no secrets; `secrets` are sealed apart. */
export interface StoredConnector {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  type: ConnectorType;
  config: Record<string, unknown>;
  secretsSealed: string | null;
  fields: FieldSpec[];
  safety: SafetySettings;
  live: LivePolicy;
  schedule: string | null;
  datasetId: string;
  state: 'active' | 'paused';
  pausedReason: string | null;
  cursor: string | null;
  consecutiveFailures: number;
  lastSyncAt: string | null;
  lastSuccessAt: string | null;
  lastRecordAt: string | null;
  lastError: string | null;
  stale: boolean;
  pushKeyHash: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export type ConnectorHealth = Static<typeof ConnectorHealthSchema>;

/** A connector as the API answers it. */
export interface Connector {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  type: ConnectorType;
  config: Record<string, unknown>;
  secrets: string[];
  fields: FieldSpec[];
  schedule: string | null;
  nextSyncAt: string | null;
  safety: SafetySettings;
  live: LivePolicy;
  datasetId: string;
  datasetName: string;
  state: 'active' | 'paused';
  pausedReason: string | null;
  cursor: string | null;
  health: ConnectorHealth;
  createdAt: string;
  updatedAt: string;
}

export type Sync = Static<typeof SyncSchema>;
export type SyncTrigger = Sync['trigger'];

/** Which config keys of each source type are secrets: sealed at rest, never answered. */
export const SECRET_PATHS: Record<ConnectorType, string[][]> = {
  thingspeak: [['apiKey']],
  http: [['authHeader', 'value']],
  mqtt: [['password']],
  push: [],
};
