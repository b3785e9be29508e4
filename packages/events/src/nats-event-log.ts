import {
  type Consumer,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type AppendResult,
  type EncodedEvent,
  type EventLog,
  EventLogClosedError,
  EventLogUnavailableError,
  type LogPosition,
  type LogRecord,
  type ReadResult,
} from './event-log.ts';

export interface NatsEventLogOptions {
  /** NATS server(s), default 127.0.0.1:4222. */
  readonly servers?: string | string[];
  /** JetStream stream name (default MARQUEE_EVENTS). */
  readonly stream?: string;
  /** Subject the events are published on (default marquee.events). */
  readonly subject?: string;
  /** JetStream deduplicates a re-published event id within this window (default 2 minutes). */
  readonly duplicateWindowMs?: number;
  /** Stream limits applied when the stream is created (0 = unlimited, the default). */
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
  /** How long one publish waits for its acknowledgement before the append rejects (default 5 s). */
  readonly publishTimeoutMs?: number;
  /** Publishes awaiting acknowledgement at once, per append (default 1024). */
  readonly maxInFlight?: number;
  /** How long a read waits for messages the stream reported (default 2 s). */
  readonly readTimeoutMs?: number;
}

const NANOS_PER_MS = 1_000_000;
const STREAM_NOT_FOUND = 10059;

/** Positions are the stream sequence, zero-padded to 20 digits so that strings sort in log order. */
export function natsPosition(seq: number): LogPosition {
  return String(seq).padStart(20, '0');
}

function parseSequence(position: LogPosition): number {
  if (position === '') return 1;
  if (!/^\d{20}$/.test(position)) throw new RangeError(`not a NATS event log position: ${JSON.stringify(position)}`);
  return Number(position);
}

export async function createNatsEventLog(options: NatsEventLogOptions = {}): Promise<NatsEventLog> {
  return NatsEventLog.open(options);
}

/**
 * The scaled event log: a JetStream stream with file storage. `append` resolves when the server has
 * acknowledged every event (PubAck) and rejects when it cannot (NATS down, timeout): it never pretends.
 * The serving layer keeps unacknowledged events in its local queue and retries; each message carries
 * Nats-Msg-Id = event id, so a retry within the duplicate window is not stored twice.
 */
export class NatsEventLog implements EventLog {
  private closed = false;
  private reader: { consumer: Consumer; nextSeq: number } | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly subject: string;
  private readonly publishTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly readTimeoutMs: number;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly stream: string,
    options: NatsEventLogOptions,
  ) {
    this.subject = options.subject ?? 'marquee.events';
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
    this.maxInFlight = options.maxInFlight ?? 1024;
    this.readTimeoutMs = options.readTimeoutMs ?? 2_000;
  }

  static async open(options: NatsEventLogOptions = {}): Promise<NatsEventLog> {
    const stream = options.stream ?? 'MARQUEE_EVENTS';
    const subject = options.subject ?? 'marquee.events';
    let nc: NatsConnection;
    try {
      // Keep reconnecting forever once connected: appends fail while NATS is away and succeed once it is back.
      nc = await connect({
        servers: options.servers ?? '127.0.0.1:4222',
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        timeout: options.publishTimeoutMs ?? 5_000,
      });
    } catch (err) {
      throw new EventLogUnavailableError('cannot connect to NATS', { cause: err });
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: options.publishTimeoutMs ?? 5_000 });
      try {
        await jsm.streams.info(stream);
      } catch (err) {
        if (!(err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND)) throw err;
        await jsm.streams.add({
          name: stream,
          subjects: [subject],
          storage: StorageType.File,
          discard: DiscardPolicy.Old,
          duplicate_window: (options.duplicateWindowMs ?? 120_000) * NANOS_PER_MS,
          max_age: (options.maxAgeMs ?? 0) * NANOS_PER_MS,
          max_bytes: options.maxBytes && options.maxBytes > 0 ? options.maxBytes : -1,
        });
      }
      const js = jetstream(nc, { timeout: options.publishTimeoutMs ?? 5_000 });
      return new NatsEventLog(nc, js, jsm, stream, options);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  append(events: readonly EncodedEvent[]): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new EventLogClosedError());
    const done = this.publishAll(events);
    this.inFlight.add(done);
    const forget = () => this.inFlight.delete(done);
    done.then(forget, forget);
    return done;
  }

  private async publishAll(events: readonly EncodedEvent[]): Promise<AppendResult> {
    if (events.length === 0) return { count: 0, first: null, last: null };
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    let next = 0;
    // A window of concurrent publishes on one connection: they go out in index order, so the stream keeps
    // the batch's order, while acknowledgements overlap instead of costing one round trip each.
    const worker = async () => {
      while (next < events.length) {
        const e = events[next++]!;
        const ack = await this.js.publish(this.subject, e.data, { msgID: e.id, timeout: this.publishTimeoutMs });
        if (ack.seq < min) min = ack.seq;
        if (ack.seq > max) max = ack.seq;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.maxInFlight, events.length) }, worker));
    } catch (err) {
      throw new EventLogUnavailableError('NATS did not acknowledge every event', { cause: err });
    }
    return { count: events.length, first: natsPosition(min), last: natsPosition(max) };
  }

  async read(from: LogPosition, max: number): Promise<ReadResult> {
    if (this.closed) throw new EventLogClosedError();
    const fromSeq = parseSequence(from);
    const { state } = await this.jsm.streams.info(this.stream);
    const start = Math.max(fromSeq, state.first_seq);
    const events: LogRecord[] = [];
    if (max < 1 || start > state.last_seq || state.messages === 0) return { events, next: from };
    const wanted = Math.min(max, state.last_seq - start + 1);
    // An ordered consumer delivers the stream in order from a sequence; reuse it while reads are sequential.
    if (this.reader === undefined || this.reader.nextSeq !== start) {
      this.reader = { consumer: await this.js.consumers.get(this.stream, { opt_start_seq: start }), nextSeq: start };
    }
    const reader = this.reader;
    // Drain every delivered message (breaking early would move the consumer's cursor past unread ones).
    const messages = await reader.consumer.fetch({ max_messages: wanted, expires: this.readTimeoutMs });
    for await (const m of messages) {
      events.push({ position: natsPosition(m.seq), data: m.data });
      reader.nextSeq = m.seq + 1;
    }
    if (events.length === 0) return { events, next: from };
    return { events, next: natsPosition(reader.nextSeq) };
  }

  async end(): Promise<LogPosition> {
    const { state } = await this.jsm.streams.info(this.stream);
    return natsPosition(state.last_seq + 1);
  }

  /** Deletes the stream and everything in it (tests, tear-down tooling). */
  async destroy(): Promise<void> {
    await this.jsm.streams.delete(this.stream);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let appends in flight get their acknowledgements (or fail) before the connection goes.
    await Promise.allSettled([...this.inFlight]);
    await this.nc.drain();
  }
}
