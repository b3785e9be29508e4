/**
 * Fastify gives every request a child logger carrying its request id; pino's child() copies the parent and
 * serialises the bindings, per request, although nearly every request logs nothing (the decision route at
 * level warn). This factory hands out a stand-in that makes the real child on the first line the request
 * logs at an enabled level: the same output, no per-request child on the hot path.
 */
import type { FastifyBaseLogger } from 'fastify';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
type WithLevelCheck = FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };

class LazyRequestLogger implements FastifyBaseLogger {
  private real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: WithLevelCheck,
    private readonly bindings: Bindings,
  ) {}

  get level(): string {
    return this.real ? this.real.level : this.parent.level;
  }
  set level(level: string) {
    this.materialise().level = level;
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.materialise().child(bindings, options);
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  private materialise(): FastifyBaseLogger {
    this.real ??= this.parent.child(this.bindings);
    return this.real;
  }

  private write(level: Level, args: unknown[]): void {
    if (!this.real && !this.parent.isLevelEnabled!(level)) return;
    (this.materialise()[level] as (...a: unknown[]) => void)(...args);
  }
}

/** Fastify's `childLoggerFactory`: lazy when the parent can tell its enabled levels and no options are given. */
export function lazyChildLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildOptions,
): FastifyBaseLogger {
  const parent = logger as WithLevelCheck;
  // A route's own log level (or serializers) makes a real child at once.
  if (typeof parent.isLevelEnabled !== 'function' || Object.keys(options).length > 0) {
    return logger.child(bindings, options);
  }
  return new LazyRequestLogger(parent, bindings);
}
