/**
 * Opens the event log the configuration asks for (composition root only):
 *   - 'file' (default): a FileEventLog under <dataDir>/events;
 *   - 'nats': a NatsEventLog on natsUrl/natsStream, behind a SpoolingEventLog whose local spool is a
 *     FileEventLog under <dataDir>/events-spool (events are acknowledged from the spool while NATS is away).
 * NATS being unreachable at start-up is not fatal: the spool takes the events until it answers.
 */
import path from 'node:path';
import {
  type AppendResult,
  createFileEventLog,
  createNatsEventLog,
  type EncodedEvent,
  type EventLog,
  EventLogUnavailableError,
  type LogPosition,
  type NatsEventLog,
  type ReadResult,
} from '@marquee/events';
import { CONFIG_DEFAULTS, type Config } from '../config.ts';
import { createSpoolingEventLog, type SpoolingEventLog } from './spooling-event-log.ts';

export interface OpenEventLogOptions {
  readonly onError?: (error: unknown, what: string) => void;
  /** NATS acknowledgement timeout before an append falls back to the spool (default 2 s). */
  readonly publishTimeoutMs?: number;
  readonly retryMs?: number;
}

export async function openEventLog(config: Config, options: OpenEventLogOptions = {}): Promise<EventLog> {
  const kind = config.eventLog ?? CONFIG_DEFAULTS.eventLog;
  if (kind === 'file') return createFileEventLog({ dir: path.join(config.dataDir, 'events') });
  let spooling: SpoolingEventLog | undefined;
  const spool = await createFileEventLog({
    dir: path.join(config.dataDir, 'events-spool'),
    // Forwarded segments are deleted; never one holding events not yet forwarded.
    retention: { maxAgeMs: 1, sweepIntervalMs: 60_000 },
    minRetainedPosition: () => spooling?.drainedPosition ?? '',
  });
  const primary = new LazyNatsEventLog({
    servers: (config.natsUrl ?? '127.0.0.1:4222').split(','),
    stream: config.natsStream ?? CONFIG_DEFAULTS.natsStream,
    subject: natsSubjectOf(config.natsStream ?? CONFIG_DEFAULTS.natsStream),
    publishTimeoutMs: options.publishTimeoutMs ?? 2000,
  });
  spooling = await createSpoolingEventLog({
    primary,
    spool,
    ...(options.retryMs ? { retryMs: options.retryMs } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return spooling;
}

/**
 * The subject of a stream: `marquee.events` for the default stream, `marquee.events.<stream>` for another
 * (JetStream refuses two streams on one subject, e.g. a staging network beside production on one server).
 */
export function natsSubjectOf(stream: string): string {
  return stream === CONFIG_DEFAULTS.natsStream ? 'marquee.events' : `marquee.events.${stream}`;
}

/** A NatsEventLog connected on first use, and again after a failed connection attempt. */
class LazyNatsEventLog implements EventLog {
  private log: NatsEventLog | undefined;
  private connecting: Promise<NatsEventLog> | undefined;
  private closed = false;
  constructor(private readonly options: Parameters<typeof createNatsEventLog>[0]) {}

  private get(): Promise<NatsEventLog> {
    if (this.log) return Promise.resolve(this.log);
    this.connecting ??= createNatsEventLog(this.options).then(
      (log) => {
        this.connecting = undefined;
        if (this.closed) {
          void log.close();
          throw new EventLogUnavailableError('event log closed');
        }
        this.log = log;
        return log;
      },
      (err) => {
        this.connecting = undefined;
        throw err instanceof EventLogUnavailableError ? err : new EventLogUnavailableError(String(err), { cause: err });
      },
    );
    return this.connecting;
  }

  async append(events: readonly EncodedEvent[]): Promise<AppendResult> {
    return (await this.get()).append(events);
  }
  async read(from: LogPosition, max: number): Promise<ReadResult> {
    return (await this.get()).read(from, max);
  }
  async end(): Promise<LogPosition> {
    return (await this.get()).end();
  }
  async close(): Promise<void> {
    this.closed = true;
    await this.log?.close();
  }
}
