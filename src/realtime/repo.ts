import type { Kysely } from 'kysely';
import type { Database } from '../db/types.js';
import { toJob } from '../jobs/rows.js';
import type { Job } from '../jobs/types.js';

/**
 * The reads the real-time layer makes of the metadata store: whose a topic's object is (by id alone: the
 * access check then decides), and a job's current state.
 */
export class RealtimeRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async jobWorkspace(id: string): Promise<string | null> {
    const row = await this.db.selectFrom('jobs').select('workspace_id').where('id', '=', id).executeTakeFirst();
    return row?.workspace_id ?? null;
  }

  async datasetWorkspace(id: string): Promise<string | null> {
    const row = await this.db.selectFrom('datasets').select('workspace_id').where('id', '=', id).executeTakeFirst();
    return row?.workspace_id ?? null;
  }

  async uploadWorkspace(id: string): Promise<string | null> {
    const row = await this.db.selectFrom('uploads').select('workspace_id').where('id', '=', id).executeTakeFirst();
    return row?.workspace_id ?? null;
  }

  /** The job, if it exists in that workspace. */
  async job(workspaceId: string, id: string): Promise<Job | null> {
    const row = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', id)
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirst();
    return row ? toJob(row) : null;
  }
}
