import type { BlobArea } from '../blobs/types.js';

/**
 * Which objects of a kept area (`models/`, never aged out) something still refers to. An object of such an area
 * that no row refers to is an orphan: the file of a training killed between storing its artifact and registering
 * its version, or one whose delete failed after its row went. The domain that owns the area answers, so the
 * storage sweep needs no knowledge of its tables.
 */
export type ReferencedKeys = (keys: string[]) => Promise<Set<string>>;

/**
 * How old an unreferenced object must be before the sweep deletes it: far longer than any writer takes between
 * storing an object and committing the row that refers to it (a training stores its artifact, then registers it
 * within the same attempt, and every attempt stores it again), so a sweep never races a writer.
 */
export const ORPHAN_GRACE_MS = 24 * 3_600_000;

/** The kept areas whose owners said how to tell their orphans; registered as domains are built. */
export class BlobOwners {
  private readonly owners = new Map<BlobArea, ReferencedKeys>();

  claim(area: BlobArea, referenced: ReferencedKeys): void {
    if (this.owners.has(area)) throw new Error(`blob area '${area}' already has an owner`);
    this.owners.set(area, referenced);
  }

  all(): [BlobArea, ReferencedKeys][] {
    return [...this.owners];
  }
}
