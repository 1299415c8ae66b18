import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { createContext } from '../context.js';
import { createLogger } from '../logger.js';

/**
 * The OpenAPI document Weir serves at /openapi.json, built without a listening server and without the user's data:
 * the app is built over a throwaway data directory (removed again) with no job workers and the default
 * configuration, so the document depends only on the sources (and package.json's version). `npm run openapi`
 * writes it; the contract test reads it.
 */
export async function openapiDocument(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-openapi-'));
  try {
    const config = loadConfig({ WEIR_DATA_DIR: dataDir, WEIR_LOG_LEVEL: 'silent' });
    const context = await createContext(config, createLogger(config.logLevel), { jobs: 'none', firstRunHint: false });
    const app = await buildApp(context);
    try {
      await app.ready();
      // A deep copy: swagger() answers its cached object, which a caller must not be able to change.
      return structuredClone(app.swagger()) as unknown as Record<string, unknown>;
    } finally {
      await app.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
