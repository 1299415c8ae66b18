import type { Readable } from 'node:stream';
import type { BlobStore } from '../blobs/types.js';
import type { ForecastModelArtifact } from './ml/forecast/train.js';
import type { TabularModelArtifact } from './ml/tabular/train.js';

export type ModelArtifact = TabularModelArtifact | ForecastModelArtifact;

/** Loaded artifacts kept in memory, by version id. Small: the current version of the few models in use. */
const CACHED_ARTIFACTS = 16;

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A small LRU of parsed artifacts keyed by version id (a version is immutable, so an entry never goes stale; a
 * deleted version's entry is dropped). Single-row predict then costs an encode and a predict, no blob read.
 */
export class ArtifactCache {
  private readonly entries = new Map<string, Promise<ModelArtifact>>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly size = CACHED_ARTIFACTS,
  ) {}

  get(versionId: string, key: string): Promise<ModelArtifact> {
    const hit = this.entries.get(versionId);
    if (hit) {
      this.entries.delete(versionId);
      this.entries.set(versionId, hit);
      return hit;
    }
    const loading = this.blobs
      .read(key)
      .then(readAll)
      .then((text) => JSON.parse(text) as ModelArtifact);
    loading.catch(() => this.entries.delete(versionId));
    this.entries.set(versionId, loading);
    while (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
    return loading;
  }

  drop(versionId: string): void {
    this.entries.delete(versionId);
  }
}
