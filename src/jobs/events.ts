import { topics, type EventBus } from '../bus/types.js';
import type { Log } from '../logger.js';
import type { Job } from './types.js';

export const JOB_STATE = 'job.state';
export const JOB_PROGRESS = 'job.progress';
/** Asks whichever worker runs the job to abort it now (heartbeats would notice later). Clients see it too. */
export const JOB_CANCEL = 'job.cancel';

export interface JobProgressEvent {
  id: string;
  progress: number;
  message: string | null;
  data: unknown;
}

/**
 * Publishes job events to `job:<id>` and `workspace:<id>`. Publishing never fails the caller: an event that
 * cannot be sent is logged (the table stays the truth; clients re-read it).
 */
export class JobEvents {
  constructor(
    private readonly bus: EventBus,
    private readonly log: Log,
  ) {}

  state(job: Job): void {
    this.both(job.id, job.workspaceId, JOB_STATE, job);
  }

  progress(workspaceId: string, event: JobProgressEvent): void {
    this.both(event.id, workspaceId, JOB_PROGRESS, event);
  }

  cancel(job: Job): void {
    this.send(topics.job(job.id), JOB_CANCEL, { id: job.id });
  }

  /** Calls `onCancel` when a cancel for this job is published anywhere; returns the unsubscribe function. */
  onCancel(id: string, onCancel: () => void): () => void {
    return this.bus.subscribe(topics.job(id), (event) => {
      if (event.type === JOB_CANCEL) onCancel();
    });
  }

  /** Calls `onState` on each state change of the job published anywhere; returns the unsubscribe function. */
  onState(id: string, onState: () => void): () => void {
    return this.bus.subscribe(topics.job(id), (event) => {
      if (event.type === JOB_STATE) onState();
    });
  }

  private both(id: string, workspaceId: string, type: string, data: unknown): void {
    this.send(topics.job(id), type, data);
    this.send(topics.workspace(workspaceId), type, data);
  }

  private send(topic: ReturnType<typeof topics.job>, type: string, data: unknown): void {
    this.bus
      .publish(topic, type, data)
      .catch((err: unknown) => this.log.warn({ err, topic, type }, 'job event not published'));
  }
}
