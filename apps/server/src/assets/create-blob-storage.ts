import { join } from 'node:path';
import type { Config } from '../config.ts';
import type { BlobStorage } from './blob-storage.ts';
import { LocalDiskBlobStorage } from './local-disk-blob-storage.ts';

/** The blob storage the configuration asks for; embedded: `<dataDir>/assets/` (an S3 adapter comes later). */
export function createBlobStorage(config: Pick<Config, 'dataDir'>): BlobStorage {
  return new LocalDiskBlobStorage(join(config.dataDir, 'assets'));
}
