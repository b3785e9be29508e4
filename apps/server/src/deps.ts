import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Store } from '@marquee/store';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { BlobStorage } from './assets/blob-storage.ts';
import type { Config } from './config.ts';

/** Everything a route module needs, built once by the composition root (main.ts / createApp). */
export interface AppDeps {
  readonly config: Config;
  readonly store: Store;
  readonly logger: FastifyBaseLogger;
  /** Where uploaded asset bytes live; default: LocalDiskBlobStorage under `<dataDir>/assets/`. */
  readonly blobs?: BlobStorage;
}

/** The Fastify instance every route module receives: TypeBox schemas give typed requests. */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** A route module: `export const xRoutes: RouteModule = async (app, deps) => { app.get(...) }`. */
export type RouteModule = (app: App, deps: AppDeps) => Promise<void>;
