import { topics, type EventBus } from '../bus/types.js';
import type { Log } from '../logger.js';
import type { Dataset, DatasetVersion } from './model.js';

/** A new version was stored (by an upload, a pipeline, a connector): `{datasetId, version}`. */
export const DATASET_VERSION = 'dataset.version';
/** Name, description or tags changed: the Dataset. */
export const DATASET_UPDATED = 'dataset.updated';
/** The dataset and its versions are gone: `{id}`. */
export const DATASET_DELETED = 'dataset.deleted';

/**
 * Publishes dataset events to `dataset:<id>` (permission `datasets:read`). Not to the `workspace:<id>` feed: that
 * one needs `jobs:read` (src/realtime/builtin-topics.ts). Publishing never fails the caller: the change is
 * committed already, and the database stays the truth a client can re-read with a `status` request.
 */
export class DatasetEvents {
  constructor(
    private readonly bus: EventBus,
    private readonly log: Log,
  ) {}

  versionStored(dataset: Dataset, version: DatasetVersion): void {
    this.send(dataset.id, DATASET_VERSION, { datasetId: dataset.id, version });
  }

  updated(dataset: Dataset): void {
    this.send(dataset.id, DATASET_UPDATED, dataset);
  }

  deleted(id: string): void {
    this.send(id, DATASET_DELETED, { id });
  }

  private send(id: string, type: string, data: unknown): void {
    const topic = topics.dataset(id);
    this.bus
      .publish(topic, type, data)
      .catch((err: unknown) => this.log.warn({ err, topic, type }, 'dataset event not published'));
  }
}
