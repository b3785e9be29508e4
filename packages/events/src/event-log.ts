/**
 * The event log port: an append-only, durable, totally ordered log of encoded tracking events.
 * Implementations: FileEventLog (embedded, segment files with group commit) and NatsEventLog
 * (scaled, a JetStream stream). Both pass event-log.contract.ts.
 */

/**
 * A place in the log. Opaque to callers except that positions of one log compare in log order as plain
 * strings (they are fixed-width), so a consumer can store the `next` of a read and resume from it.
 * START_POSITION ('') is before every event.
 */
export type LogPosition = string;
export const START_POSITION: LogPosition = '';

export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An event ready for the log: its unique id (dedup key) and its encoded bytes (see event-codec.ts). */
export interface EncodedEvent {
  readonly id: string;
  readonly data: Uint8Array;
}

/** An event read back, with its position. */
export interface LogRecord {
  readonly position: LogPosition;
  readonly data: Uint8Array;
}

export interface AppendResult {
  readonly count: number;
  /** Lowest and highest position among the appended events; null when the batch was empty. */
  readonly first: LogPosition | null;
  readonly last: LogPosition | null;
}

export interface ReadResult {
  /** In log order, each event exactly once. */
  readonly events: LogRecord[];
  /** Where to read from next (commit this after processing `events`). Equal to `from` when nothing was read. */
  readonly next: LogPosition;
}

export interface EventLog {
  /**
   * Appends the events, in order. Resolves only once every one of them is durable (fsync'd to the local
   * disk, or acknowledged by the JetStream server); rejects when that cannot be guaranteed (disk error,
   * NATS unreachable, log closed). After a rejection some of the events may have been stored: a retry with
   * the same ids is deduplicated by JetStream, and consumers dedup by event id.
   */
  append(events: readonly EncodedEvent[]): Promise<AppendResult>;
  /** Up to `max` durable events at or after `from`, without waiting for new ones. */
  read(from: LogPosition, max: number): Promise<ReadResult>;
  /** The position after the last durable event (what `read` would return as `next` at the end). */
  end(): Promise<LogPosition>;
  /** Waits for pending appends to become durable, then releases files and connections. */
  close(): Promise<void>;
}

export class EventLogClosedError extends Error {
  override readonly name = 'EventLogClosedError';
  constructor() {
    super('event log is closed');
  }
}

/** A record whose checksum or framing is wrong, somewhere other than a recoverable torn tail. */
export class EventLogCorruptionError extends Error {
  override readonly name = 'EventLogCorruptionError';
  constructor(
    readonly position: LogPosition,
    detail: string,
  ) {
    super(`event log corrupt at ${position}: ${detail}`);
  }
}

/** The log cannot store events right now (disk failure, NATS down): the caller must not acknowledge. */
export class EventLogUnavailableError extends Error {
  override readonly name = 'EventLogUnavailableError';
}
