import type { BlobsConfig } from '../config.js';
import type { Scratch } from './scratch.js';
import { LocalBlobStore } from './local.js';
import type { BlobStore } from './types.js';

/**
 * The blob store the config asks for. The S3 driver (and the AWS SDK behind it) is loaded only when used, so the
 * embedded default starts without it.
 */
export async function createBlobStore(config: BlobsConfig, scratch: Scratch): Promise<BlobStore> {
  if (config.driver === 'local') return new LocalBlobStore(config.root);
  const { S3BlobStore } = await import('./s3.js');
  return new S3BlobStore(config, scratch);
}
