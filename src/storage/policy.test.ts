import { describe, expect, it } from 'vitest';
import {
  ArtifactRefs,
  ageDecision,
  artifactWindow,
  isPastRetention,
  maxAgeMs,
  parseKey,
  protectedUploadIds,
  uploadIdOf,
  uploadKeepsBytes,
  versionsToPrune,
  type AgeContext,
} from './policy.js';

const H = 3_600_000;
const retention = { tmpMs: H, uploadsMs: 24 * H, exportsMs: 72 * H, cacheMs: 7 * 24 * H, logsMs: 7 * 24 * H };
const now = new Date('2026-03-01T12:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const up = 'up_01JABCDEFGHJKMNPQRSTVWXYZ0';
const up2 = 'up_01JABCDEFGHJKMNPQRSTVWXYZ1';

function ctx(o: Partial<AgeContext> = {}): AgeContext {
  return { now, retention, artifacts: new ArtifactRefs(), liveUploads: new Set(), ...o };
}

describe('retention per area', () => {
  it('ages out uploads, exports, cache, logs and tmp; never datasets or models', () => {
    expect(maxAgeMs('uploads', retention)).toBe(24 * H);
    expect(maxAgeMs('exports', retention)).toBe(72 * H);
    expect(maxAgeMs('cache', retention)).toBe(7 * 24 * H);
    expect(maxAgeMs('logs', retention)).toBe(7 * 24 * H);
    expect(maxAgeMs('tmp', retention)).toBe(H);
    expect(maxAgeMs('datasets', retention)).toBeNull();
    expect(maxAgeMs('models', retention)).toBeNull();
  });

  it('keeps an object modified exactly at the cutoff, deletes one a millisecond older', () => {
    expect(isPastRetention(ago(24 * H), now, 24 * H)).toBe(false);
    expect(isPastRetention(ago(24 * H + 1), now, 24 * H)).toBe(true);
    expect(isPastRetention(ago(24 * H - 1), now, 24 * H)).toBe(false);
    expect(isPastRetention(ago(100 * 365 * 24 * H), now, null)).toBe(false);
    // A clock that stepped back: a file from "the future" is young.
    expect(isPastRetention(new Date(now.getTime() + H), now, 0)).toBe(false);
  });

  it('decides per area by age', () => {
    for (const [area, ms] of [
      ['exports', 72 * H],
      ['cache', 7 * 24 * H],
      ['logs', 7 * 24 * H],
    ] as const) {
      const key = `${area}/ws_default/x/file.bin`;
      expect(ageDecision({ key, modifiedAt: ago(ms) }, ctx()), `${area} at cutoff`).toBe('young');
      expect(ageDecision({ key, modifiedAt: ago(ms + 1) }, ctx()), `${area} past cutoff`).toBe('delete');
    }
    expect(ageDecision({ key: 'datasets/ws_default/ds_1/dv_1.parquet', modifiedAt: ago(1000 * 24 * H) }, ctx())).toBe(
      'kept-area',
    );
    expect(ageDecision({ key: 'models/ws_default/mdl_1/model.bin', modifiedAt: ago(1000 * 24 * H) }, ctx())).toBe(
      'kept-area',
    );
    expect(ageDecision({ key: 'elsewhere/x', modifiedAt: ago(1000 * 24 * H) }, ctx())).toBe('kept-area');
  });
});

describe('uploads', () => {
  it('reads the upload id from plain and resumable keys', () => {
    expect(uploadIdOf(`uploads/ws_default/${up}`)).toBe(up);
    expect(uploadIdOf(`uploads/ws_default/${up}/data`)).toBe(up);
    expect(uploadIdOf(`uploads/ws_default/${up}/p0-100`)).toBe(up);
    expect(uploadIdOf(`cache/ws_default/${up}`)).toBeNull();
    expect(uploadIdOf('uploads/ws_default')).toBeNull();
    expect(parseKey('uploads/ws_a/up_1/data')).toEqual({
      area: 'uploads',
      workspaceId: 'ws_a',
      rest: ['up_1', 'data'],
    });
    expect(parseKey('nothing')).toBeNull();
  });

  it('deletes an old unreferenced upload; keeps referenced ones, live resumable prefixes and young ones', () => {
    const old = ago(24 * H + 1);
    expect(ageDecision({ key: `uploads/ws_default/${up}`, modifiedAt: old }, ctx())).toBe('delete');
    expect(ageDecision({ key: `uploads/ws_default/${up}`, modifiedAt: ago(24 * H) }, ctx())).toBe('young');
    const artifacts = new ArtifactRefs();
    artifacts.add(`uploads/ws_default/${up}`);
    expect(ageDecision({ key: `uploads/ws_default/${up}`, modifiedAt: old }, ctx({ artifacts }))).toBe('job-artifact');
    expect(ageDecision({ key: `uploads/ws_default/${up2}`, modifiedAt: old }, ctx({ artifacts }))).toBe('delete');
    const live = new Set([up2]);
    expect(ageDecision({ key: `uploads/ws_default/${up2}/data`, modifiedAt: old }, ctx({ liveUploads: live }))).toBe(
      'live-upload',
    );
    expect(ageDecision({ key: `uploads/ws_default/${up2}/p0-99`, modifiedAt: old }, ctx({ liveUploads: live }))).toBe(
      'live-upload',
    );
  });

  it('a job artifact protects its key, keys under an artifact prefix, and the rest of its upload', () => {
    const refs = new ArtifactRefs();
    refs.add(`uploads/ws_a/${up}/data`);
    refs.add('exports/ws_a/exp_1/');
    refs.add('cache/ws_a/one.bin');
    expect(refs.covers(`uploads/ws_a/${up}/data`)).toBe(true);
    expect(refs.covers(`uploads/ws_a/${up}/p0-9`)).toBe(true);
    expect(refs.covers('exports/ws_a/exp_1/part-0.csv')).toBe(true);
    expect(refs.covers('exports/ws_a/exp_10/part-0.csv')).toBe(false);
    expect(refs.covers('cache/ws_a/one.bin')).toBe(true);
    expect(refs.covers('cache/ws_a/one.bin.old')).toBe(false);
  });

  it('which upload rows keep their bytes', () => {
    const row = (status: string, expiresAt: string | null = null, parts: string[] = []) => ({
      id: up,
      status,
      expiresAt,
      parts,
    });
    expect(uploadKeepsBytes(row('uploading', ago(-H).toISOString()), now)).toBe(true);
    // Past its expiry it is the expiry rule's (a conditional update), never the age rule's.
    expect(uploadKeepsBytes(row('uploading', ago(H).toISOString()), now)).toBe(true);
    expect(uploadKeepsBytes(row('ingesting'), now)).toBe(true);
    expect(uploadKeepsBytes(row('complete', null), now)).toBe(true);
    expect(uploadKeepsBytes(row('complete', ago(-1).toISOString()), now)).toBe(true);
    expect(uploadKeepsBytes(row('complete', ago(1).toISOString()), now)).toBe(false);
    for (const s of ['done', 'rejected', 'failed', 'expired']) expect(uploadKeepsBytes(row(s), now), s).toBe(false);
    const ids = protectedUploadIds([row('ingesting', null, [up2]), { ...row('done'), id: 'up_gone' }], now);
    expect([...ids].sort()).toEqual([up, up2].sort());
  });
});

describe('keep-last-N', () => {
  const versions = [1, 2, 3, 4, 5].map((n) => ({ id: `dv_${n}`, number: n }));

  it('prunes all but the N newest', () => {
    expect(versionsToPrune(versions, 2, 'dv_5').map((v) => v.id)).toEqual(['dv_3', 'dv_2', 'dv_1']);
    expect(versionsToPrune(versions, 5, 'dv_5')).toEqual([]);
    expect(versionsToPrune(versions, 9, 'dv_5')).toEqual([]);
    expect(versionsToPrune(versions.slice().reverse(), 4, 'dv_5').map((v) => v.id)).toEqual(['dv_1']);
  });

  it('never prunes the latest version, nor with a nonsensical N', () => {
    // The newest by number is not (yet) the latest: the latest stays, whatever its number.
    expect(versionsToPrune(versions, 1, 'dv_2').map((v) => v.id)).toEqual(['dv_4', 'dv_3', 'dv_1']);
    expect(versionsToPrune(versions, 0, 'dv_5')).toEqual([]);
    expect(versionsToPrune(versions, -1, 'dv_5')).toEqual([]);
    expect(versionsToPrune([], 1, null)).toEqual([]);
  });
});

describe('job artifact window', () => {
  it('starts from the beginning, then from the previous sweep cutoff', () => {
    const first = artifactWindow(null, now, 72 * H);
    expect(first).toEqual({ since: null, until: ago(72 * H).toISOString() });
    const later = new Date(now.getTime() + H);
    expect(artifactWindow(first!.until, later, 72 * H)).toEqual({
      since: first!.until,
      until: new Date(later.getTime() - 72 * H).toISOString(),
    });
  });

  it('is empty when the previous cutoff is not before the new one', () => {
    expect(artifactWindow(ago(72 * H).toISOString(), now, 72 * H)).toBeNull();
    expect(artifactWindow(ago(H).toISOString(), now, 72 * H)).toBeNull();
  });
});
