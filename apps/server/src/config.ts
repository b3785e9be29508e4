/**
 * Configuration: defaults in code, then a JSON file (MARQUEE_CONFIG or --config), then environment (MARQUEE_*),
 * then command-line flags. Validated once at boot with every error reported at once, then frozen.
 * Only this module reads process.env.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Ajv, type ErrorObject } from 'ajv';
import { type Static, Type } from 'typebox';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** postgres://... to use PostgreSQL; undefined for the embedded store under dataDir. */
  readonly databaseUrl: string | undefined;
  /** Public base URL used in tags and tracking URLs, e.g. http://localhost:8080 */
  readonly publicUrl: string;
  readonly adminEmail: string;
  readonly adminPassword: string | undefined;
  readonly loadDemoData: boolean;
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  readonly uploadLimitBytes: number;
  readonly sessionTtlSeconds: number;
  /** True when served over TLS (sets the Secure cookie flag). */
  readonly secureCookies: boolean;
  // The keys below were added after the contract was first published; they are optional in the type so that
  // hand-built Config objects (tests) stay valid. loadConfig() always fills them; readers use CONFIG_DEFAULTS.
  /** Requests per minute per client IP across the whole HTTP API (in-process limiter). */
  readonly rateLimitPerMinute?: number;
  /** Trust X-Forwarded-For / X-Forwarded-Proto from a reverse proxy (client IP for rate limits and logs). */
  readonly trustProxy?: boolean;
  /** Failed logins allowed per account, and per client IP, within loginWindowSeconds. */
  readonly loginMaxFailuresPerAccount?: number;
  readonly loginMaxFailuresPerIp?: number;
  readonly loginWindowSeconds?: number;
  /** Graceful shutdown budget: after this the process exits even with requests in flight. */
  readonly shutdownTimeoutMs?: number;
  /**
   * Tracking URL signing keys, newest first: "kid:base64secret,kid2:base64secret". Every serving node of a
   * cluster must share them; unset, an embedded install generates one under dataDir.
   */
  readonly trackingKeys?: string;
  /** How long a signed tracking URL stays valid. */
  readonly trackingTtlSeconds?: number;
  /** redis://... for shared counters (frequency caps) across workers and servers; unset: in process. */
  readonly redisUrl?: string;
  /** When set, GET /metrics needs `Authorization: Bearer <token>` (Prometheus `authorization.credentials`). */
  readonly metricsToken?: string;
  /** A MaxMind-format (mmdb) geolocation database; unset: the one shipped with Marquee. */
  readonly geoipDbPath?: string;
  /** Where tracking events go: 'file' (segment files under <dataDir>/events) or 'nats' (JetStream, local spool). */
  readonly eventLog?: 'file' | 'nats';
  /** NATS server(s) for eventLog 'nats', e.g. "127.0.0.1:4222" (comma-separated for several). */
  readonly natsUrl?: string;
  /** JetStream stream of the events (eventLog 'nats'). */
  readonly natsStream?: string;
  /** Clicks counted per served ad (decision); more are recorded as duplicates. */
  readonly trackingMaxClicks?: number;
  /** Conversions are attributed to a click this recent (seconds), else to a view this recent. */
  readonly attributionClickWindowSeconds?: number;
  readonly attributionViewWindowSeconds?: number;
  /**
   * Run the rollup consumer (event log -> hourly report rows) in this process. Default true (embedded);
   * in a scaled deployment exactly one process (the "rollups" role) sets it, serving nodes set false.
   */
  readonly rollups?: boolean;
  /**
   * Serving worker processes (node:cluster) behind one port; the primary keeps the store, the management API
   * and, when embedded, the shared counters. 0 or 1: one process (docs/operations.md "Workers").
   */
  readonly workers?: number;
  /**
   * The topology: unset, a cluster when `workers` > 1 and one process otherwise; true, always a primary and
   * max(1, workers) serving workers (`workers` 1: exactly one serving worker, as the decisions-http benchmark
   * measures); false, always one process whatever `workers` says.
   */
  readonly cluster?: boolean;
  /**
   * The embedded store (PGlite) runs in a worker thread (true, default) so its SQL never blocks the event loop
   * that serves; false runs it on the main thread (the former way: a fallback, and a benchmark baseline).
   */
  readonly pgliteThread?: boolean;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The schema of a complete configuration; also the schema of the JSON file (every key optional there). */
const ConfigSchema = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    host: Type.String({ minLength: 1 }),
    dataDir: Type.String({ minLength: 1 }),
    databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
    publicUrl: Type.String({ pattern: '^https?://[^\\s/]+(/[^\\s]*)?$' }),
    adminEmail: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' }),
    adminPassword: Type.Optional(Type.String({ minLength: 8, maxLength: 1024 })),
    loadDemoData: Type.Boolean(),
    logLevel: Type.Enum([...LOG_LEVELS]),
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024 }),
    uploadLimitBytes: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024 }),
    sessionTtlSeconds: Type.Integer({ minimum: 60, maximum: 90 * 24 * 3600 }),
    secureCookies: Type.Boolean(),
    rateLimitPerMinute: Type.Integer({ minimum: 1 }),
    trustProxy: Type.Boolean(),
    loginMaxFailuresPerAccount: Type.Integer({ minimum: 1 }),
    loginMaxFailuresPerIp: Type.Integer({ minimum: 1 }),
    loginWindowSeconds: Type.Integer({ minimum: 1 }),
    shutdownTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000 }),
    trackingKeys: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/=_-]{22,}(,[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/=_-]{22,})*$',
      }),
    ),
    trackingTtlSeconds: Type.Integer({ minimum: 60, maximum: 30 * 24 * 3600 }),
    redisUrl: Type.Optional(Type.String({ pattern: '^rediss?://' })),
    metricsToken: Type.Optional(Type.String({ minLength: 16, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' })),
    geoipDbPath: Type.Optional(Type.String({ minLength: 1 })),
    eventLog: Type.Enum(['file', 'nats']),
    natsUrl: Type.Optional(Type.String({ minLength: 1, pattern: '^[^\\s]+$' })),
    natsStream: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    trackingMaxClicks: Type.Integer({ minimum: 1, maximum: 100 }),
    attributionClickWindowSeconds: Type.Integer({ minimum: 0, maximum: 90 * 24 * 3600 }),
    attributionViewWindowSeconds: Type.Integer({ minimum: 0, maximum: 90 * 24 * 3600 }),
    rollups: Type.Boolean(),
    workers: Type.Integer({ minimum: 0, maximum: 256 }),
    cluster: Type.Optional(Type.Boolean()),
    pgliteThread: Type.Boolean(),
  },
  { additionalProperties: false },
);
type RawConfig = Static<typeof ConfigSchema>;
type Key = keyof RawConfig;

const MIB = 1024 * 1024;
export const CONFIG_DEFAULTS: Readonly<
  Omit<
    RawConfig,
    | 'publicUrl'
    | 'databaseUrl'
    | 'adminPassword'
    | 'trackingKeys'
    | 'redisUrl'
    | 'metricsToken'
    | 'geoipDbPath'
    | 'natsUrl'
    | 'cluster'
  >
> = {
  port: 8080,
  host: '0.0.0.0',
  dataDir: './data',
  adminEmail: 'admin@localhost',
  loadDemoData: true,
  logLevel: 'info',
  bodyLimitBytes: 1 * MIB,
  uploadLimitBytes: 10 * MIB,
  sessionTtlSeconds: 8 * 3600,
  secureCookies: false,
  rateLimitPerMinute: 3000,
  trustProxy: false,
  loginMaxFailuresPerAccount: 5,
  loginMaxFailuresPerIp: 20,
  loginWindowSeconds: 15 * 60,
  shutdownTimeoutMs: 10_000,
  trackingTtlSeconds: 24 * 3600,
  eventLog: 'file',
  natsStream: 'MARQUEE_EVENTS',
  trackingMaxClicks: 1,
  attributionClickWindowSeconds: 30 * 24 * 3600,
  attributionViewWindowSeconds: 24 * 3600,
  rollups: true,
  workers: availableParallelism(),
  pgliteThread: true,
};

/** Environment variable of each key. */
export const ENV_VARS: Readonly<Record<Key, string>> = {
  port: 'MARQUEE_PORT',
  host: 'MARQUEE_HOST',
  dataDir: 'MARQUEE_DATA_DIR',
  databaseUrl: 'MARQUEE_DATABASE_URL',
  publicUrl: 'MARQUEE_PUBLIC_URL',
  adminEmail: 'MARQUEE_ADMIN_EMAIL',
  adminPassword: 'MARQUEE_ADMIN_PASSWORD',
  loadDemoData: 'MARQUEE_DEMO_DATA',
  logLevel: 'MARQUEE_LOG_LEVEL',
  bodyLimitBytes: 'MARQUEE_BODY_LIMIT_BYTES',
  uploadLimitBytes: 'MARQUEE_UPLOAD_LIMIT_BYTES',
  sessionTtlSeconds: 'MARQUEE_SESSION_TTL_SECONDS',
  secureCookies: 'MARQUEE_SECURE_COOKIES',
  rateLimitPerMinute: 'MARQUEE_RATE_LIMIT_PER_MINUTE',
  trustProxy: 'MARQUEE_TRUST_PROXY',
  loginMaxFailuresPerAccount: 'MARQUEE_LOGIN_MAX_FAILURES_PER_ACCOUNT',
  loginMaxFailuresPerIp: 'MARQUEE_LOGIN_MAX_FAILURES_PER_IP',
  loginWindowSeconds: 'MARQUEE_LOGIN_WINDOW_SECONDS',
  shutdownTimeoutMs: 'MARQUEE_SHUTDOWN_TIMEOUT_MS',
  trackingKeys: 'MARQUEE_TRACKING_KEYS',
  trackingTtlSeconds: 'MARQUEE_TRACKING_TTL_SECONDS',
  redisUrl: 'MARQUEE_REDIS_URL',
  metricsToken: 'MARQUEE_METRICS_TOKEN',
  geoipDbPath: 'MARQUEE_GEOIP_DB',
  eventLog: 'MARQUEE_EVENT_LOG',
  natsUrl: 'MARQUEE_NATS_URL',
  natsStream: 'MARQUEE_NATS_STREAM',
  trackingMaxClicks: 'MARQUEE_TRACKING_MAX_CLICKS',
  attributionClickWindowSeconds: 'MARQUEE_ATTRIBUTION_CLICK_WINDOW_SECONDS',
  attributionViewWindowSeconds: 'MARQUEE_ATTRIBUTION_VIEW_WINDOW_SECONDS',
  rollups: 'MARQUEE_ROLLUPS',
  workers: 'MARQUEE_WORKERS',
  cluster: 'MARQUEE_CLUSTER',
  pgliteThread: 'MARQUEE_PGLITE_THREAD',
};

/** Command-line flags (`--port 9000` or `--port=9000`). */
const FLAGS: Readonly<Record<string, Key>> = {
  '--port': 'port',
  '--host': 'host',
  '--data-dir': 'dataDir',
  '--database-url': 'databaseUrl',
  '--public-url': 'publicUrl',
  '--log-level': 'logLevel',
};

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateComplete = ajv.compile(ConfigSchema);
const validateFile = ajv.compile(Type.Partial(ConfigSchema, { additionalProperties: false }));

const BOOLEAN_KEYS = new Set<Key>([
  'loadDemoData',
  'secureCookies',
  'trustProxy',
  'rollups',
  'cluster',
  'pgliteThread',
]);
const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** Turns a text value (env or flag) into the key's type; returns undefined and a problem when it cannot. */
function parseText(key: Key, text: string, source: string, problems: string[]): unknown {
  const type = (ConfigSchema.properties[key] as { type?: string }).type;
  if (BOOLEAN_KEYS.has(key)) {
    const lower = text.trim().toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
    problems.push(`${source}: must be true or false (got "${text}")`);
    return undefined;
  }
  if (type === 'integer') {
    if (!/^-?\d+$/.test(text.trim())) {
      problems.push(`${source}: must be an integer (got "${text}")`);
      return undefined;
    }
    return Number(text.trim());
  }
  return text;
}

function describe(errors: ErrorObject[] | null | undefined, sourceOf: (key: string) => string): string[] {
  return (errors ?? []).map((e) => {
    const key = e.instancePath.split('/')[1] ?? '';
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return `${sourceOf('')}: unknown key "${extra}"`;
    }
    const allowed =
      e.keyword === 'enum' ? ` (${(e.params as { allowedValues: string[] }).allowedValues.join(', ')})` : '';
    return `${sourceOf(key)}: ${key} ${e.message ?? 'is invalid'}${allowed}`;
  });
}

function readArgv(argv: readonly string[]): { values: Map<string, string>; problems: string[] } {
  const values = new Map<string, string>();
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (name !== '--config' && !(name in FLAGS)) {
      problems.push(`argument ${name}: unknown flag`);
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) problems.push(`argument ${name}: needs a value`);
    else values.set(name, value);
  }
  return { values, problems };
}

/**
 * Builds the configuration. Throws ConfigError listing every problem found (file, env and flags).
 * @example loadConfig({ MARQUEE_PORT: '9000' }).port === 9000
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): Config {
  const problems: string[] = [];
  const source = new Map<string, string>();
  const raw: Record<string, unknown> = { ...CONFIG_DEFAULTS };

  const args = readArgv(argv);
  problems.push(...args.problems);

  const file = args.values.get('--config') ?? env['MARQUEE_CONFIG'];
  if (file) {
    const label = `config file ${file}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      problems.push(`${label}: ${(err as Error).message}`);
    }
    if (parsed !== undefined) {
      if (validateFile(parsed)) {
        for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
          raw[k] = v;
          source.set(k, label);
        }
      } else {
        problems.push(...describe(validateFile.errors, () => label));
      }
    }
  }

  for (const key of Object.keys(ENV_VARS) as Key[]) {
    const name = ENV_VARS[key];
    const text = env[name];
    if (text === undefined || text === '') continue;
    const value = parseText(key, text, name, problems);
    if (value !== undefined) {
      raw[key] = value;
      source.set(key, name);
    }
  }

  for (const [flag, key] of Object.entries(FLAGS)) {
    const text = args.values.get(flag);
    if (text === undefined) continue;
    const value = parseText(key, text, `argument ${flag}`, problems);
    if (value !== undefined) {
      raw[key] = value;
      source.set(key, `argument ${flag}`);
    }
  }

  if (raw['publicUrl'] === undefined) raw['publicUrl'] = `http://localhost:${raw['port']}`;
  if (typeof raw['publicUrl'] === 'string') raw['publicUrl'] = raw['publicUrl'].replace(/\/+$/, '');

  if (!validateComplete(raw)) {
    problems.push(...describe(validateComplete.errors, (key) => source.get(key) ?? 'default'));
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const c = raw as RawConfig;
  const config: Config = {
    port: c.port,
    host: c.host,
    dataDir: c.dataDir,
    databaseUrl: c.databaseUrl,
    publicUrl: c.publicUrl,
    adminEmail: c.adminEmail.toLowerCase(),
    adminPassword: c.adminPassword,
    loadDemoData: c.loadDemoData,
    logLevel: c.logLevel,
    bodyLimitBytes: c.bodyLimitBytes,
    uploadLimitBytes: c.uploadLimitBytes,
    sessionTtlSeconds: c.sessionTtlSeconds,
    secureCookies: c.secureCookies,
    rateLimitPerMinute: c.rateLimitPerMinute,
    trustProxy: c.trustProxy,
    loginMaxFailuresPerAccount: c.loginMaxFailuresPerAccount,
    loginMaxFailuresPerIp: c.loginMaxFailuresPerIp,
    loginWindowSeconds: c.loginWindowSeconds,
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    trackingKeys: c.trackingKeys,
    trackingTtlSeconds: c.trackingTtlSeconds,
    redisUrl: c.redisUrl,
    metricsToken: c.metricsToken,
    geoipDbPath: c.geoipDbPath,
    eventLog: c.eventLog,
    natsUrl: c.natsUrl,
    natsStream: c.natsStream,
    trackingMaxClicks: c.trackingMaxClicks,
    attributionClickWindowSeconds: c.attributionClickWindowSeconds,
    attributionViewWindowSeconds: c.attributionViewWindowSeconds,
    rollups: c.rollups,
    workers: c.workers,
    cluster: c.cluster,
    pgliteThread: c.pgliteThread,
  };
  return Object.freeze(config);
}

/**
 * What `npm start` runs: one process, or a primary and `workers` serving workers (config `cluster`, `workers`).
 * @example servingTopology(loadConfig({ MARQUEE_WORKERS: '1', MARQUEE_CLUSTER: 'true' })) // { cluster: true, workers: 1 }
 */
export function servingTopology(config: Config): { readonly cluster: boolean; readonly workers: number } {
  const workers = config.workers ?? CONFIG_DEFAULTS.workers;
  const cluster = config.cluster ?? workers > 1;
  return { cluster, workers: cluster ? Math.max(1, workers) : 1 };
}
