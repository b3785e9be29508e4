/**
 * Configuration: defaults in code, then a JSON file (MARQUEE_CONFIG), then environment (MARQUEE_*).
 * Validated once at boot with every error reported, then frozen. Only this module reads process.env.
 * (Filled in by the platform work; the shape below is the contract other modules rely on.)
 */
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
}
