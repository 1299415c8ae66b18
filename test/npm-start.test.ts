import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleStaleness, WEB_INPUTS } from '../scripts/bundle-freshness.mjs';

/** `npm start` builds dist/weir.mjs only when it is older than what it is built from (scripts/bundle-freshness.mjs). */
let root: string;
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

async function file(relative: string, seconds: number): Promise<void> {
  const full = path.join(root, relative);
  await mkdir(path.dirname(full), { recursive: true });
  await writeFile(full, relative);
  await utimes(full, at(seconds), at(seconds));
}

/** Directories get times too: adding or removing an entry changes its directory's. */
async function dir(relative: string, seconds: number): Promise<void> {
  await utimes(path.join(root, relative), at(seconds), at(seconds));
}

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'weir-start-'));
  await file('src/main.ts', 10);
  await file('src/jobs/runtime.ts', 10);
  await file('package.json', 10);
  await file('package-lock.json', 10);
  await dir('src/jobs', 10);
  await dir('src', 10);
  await file('dist/weir.mjs', 20);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('npm start: is the bundle up to date?', () => {
  it('unchanged sources: no build', async () => {
    expect(await bundleStaleness(root)).toBeNull();
  });

  it('no bundle yet: build', async () => {
    await rm(path.join(root, 'dist/weir.mjs'));
    expect(await bundleStaleness(root)).toBe('no bundle yet');
  });

  it('a source newer than the bundle: build, naming the newest change', async () => {
    await file('src/jobs/runtime.ts', 30);
    await file('src/main.ts', 25);
    expect(await bundleStaleness(root)).toBe('src/jobs/runtime.ts changed since the last build');
  });

  it('a new lock file (dependencies changed): build', async () => {
    await file('package-lock.json', 30);
    expect(await bundleStaleness(root)).toBe('package-lock.json changed since the last build');
  });

  it('a deleted source (its directory changed): build', async () => {
    await rm(path.join(root, 'src/jobs/runtime.ts'));
    await dir('src/jobs', 30);
    expect(await bundleStaleness(root)).toBe('src/jobs/ changed since the last build');
  });

  it('a changed test file is not part of the bundle: no build', async () => {
    await file('src/jobs/runtime.test.ts', 5);
    await dir('src/jobs', 10);
    await utimes(path.join(root, 'src/jobs/runtime.test.ts'), at(30), at(30));
    expect(await bundleStaleness(root)).toBeNull();
  });
});

describe('npm start: is the dashboard up to date?', () => {
  const web = { bundle: 'dist/web/assets.json', inputs: WEB_INPUTS };
  beforeEach(async () => {
    await file('web/src/main.tsx', 10);
    await file('web/index.html', 10);
    await dir('web/src', 10);
    await file('dist/web/assets.json', 20);
  });

  it('unchanged: no build; none yet: build', async () => {
    expect(await bundleStaleness(root, web)).toBeNull();
    await rm(path.join(root, 'dist/web/assets.json'));
    expect(await bundleStaleness(root, web)).toBe('no bundle yet');
  });

  it('a changed page or index.html: build', async () => {
    await file('web/src/pages/x.tsx', 30);
    await dir('web/src/pages', 25);
    await dir('web/src', 10);
    expect(await bundleStaleness(root, web)).toBe('web/src/pages/x.tsx changed since the last build');
    await file('web/index.html', 40);
    expect(await bundleStaleness(root, web)).toBe('web/index.html changed since the last build');
  });

  it('a changed server source or browser test is not the dashboard: no build', async () => {
    await file('src/main.ts', 30);
    await file('web/e2e/session.spec.ts', 30);
    expect(await bundleStaleness(root, web)).toBeNull();
  });
});
