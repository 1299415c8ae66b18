import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const mlDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every value import of a heavy package at module top level; `import type` is erased and costs nothing. */
function staticHeavyImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const pattern = /^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'((?:@tensorflow|@bsull)\/[^']*)'/gm;
  return [...source.matchAll(pattern)].map((m) => m[1] ?? '');
}

describe('lazy loading of tfjs and augurs', () => {
  it('no module under neural/ or statistical/ imports them statically, so server start-up never loads them', () => {
    const offenders: string[] = [];
    for (const folder of ['neural', 'statistical']) {
      for (const name of readdirSync(path.join(mlDir, folder))) {
        if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
        for (const specifier of staticHeavyImports(path.join(mlDir, folder, name)))
          offenders.push(`${folder}/${name}: ${specifier}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the check itself catches a static import', () => {
    const probe = path.join(mlDir, 'neural', 'tf.ts');
    expect(readFileSync(probe, 'utf8')).toContain("import('@tensorflow/tfjs-core')");
    expect(
      "import * as tf from '@tensorflow/tfjs-core';".match(
        /^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'((?:@tensorflow|@bsull)\/[^']*)'/m,
      )?.[1],
    ).toBe('@tensorflow/tfjs-core');
  });
});
