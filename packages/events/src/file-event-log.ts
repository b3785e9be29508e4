import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  type AppendResult,
  type EncodedEvent,
  type EventLog,
  EventLogClosedError,
  EventLogCorruptionError,
  EventLogUnavailableError,
  type LogPosition,
  type LogRecord,
  type ReadResult,
} from './event-log.ts';
import { checkFrame, FRAME_HEADER_BYTES, hasValidFrameAfter, SEGMENT_MAGIC, writeFrame } from './record-frame.ts';

export interface FileEventLogOptions {
  /** Directory of the segment files; created when missing. One writer process per directory. */
  readonly dir: string;
  /** Rotate to a new segment once the current one would exceed this (default 64 MiB). */
  readonly segmentBytes?: number;
  /**
   * Extra time an append waits for others to share its synchronized write (default 0). Even at 0, appends
   * made in the same event-loop turn share one commit, and so do all appends arriving while a commit's
   * write is in flight (the next group starts right after it): the group size follows the load.
   */
  readonly groupCommitMs?: number;
  /** Commit at once, without waiting groupCommitMs, when this many bytes are pending (default 4 MiB). */
  readonly groupCommitBytes?: number;
  /** Largest accepted record (default 1 MiB). */
  readonly maxRecordBytes?: number;
  /** Deletes whole, closed segments older than maxAgeMs or beyond maxTotalBytes (oldest first). */
  readonly retention?: {
    readonly maxAgeMs?: number;
    readonly maxTotalBytes?: number;
    /** Sweep period (default 60 s); 0 disables the timer (call sweep() yourself). */
    readonly sweepIntervalMs?: number;
  };
  /**
   * The lowest position any consumer still needs (its committed `next`). Retention never deletes a
   * segment holding events at or after it. Without it, retention deletes by age and size alone.
   */
  readonly minRetainedPosition?: () => LogPosition | Promise<LogPosition>;
  /** Errors of the background retention sweep (default: process.emitWarning). */
  readonly onError?: (error: unknown) => void;
}

/** What opening the log found and repaired. */
export interface RecoveryReport {
  /** Bytes of an incomplete or garbled tail cut from the last segment (a write torn by a crash). */
  readonly truncatedBytes: number;
  /**
   * Position of a bad record followed by good ones in the last segment: not a torn tail, so nothing is cut.
   * The damaged segment is sealed (readers get EventLogCorruptionError there) and writing goes on in a new one.
   */
  readonly corruptAt: LogPosition | null;
}

export interface FileEventLogStats {
  readonly groups: number;
  readonly events: number;
  readonly bytes: number;
}

interface Segment {
  readonly index: number;
  /** Durable bytes (for the active segment: up to the last group commit). */
  size: number;
}

interface PendingAppend {
  readonly events: readonly EncodedEvent[];
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

const HEADER = SEGMENT_MAGIC.length;
const SEGMENT_NAME = /^(\d{10})\.log$/;
const POSITION = /^(\d{10})\.(\d{12})$/;
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Largest write buffer kept between group commits. */
const KEPT_WRITE_BYTES = 16 * 1024 * 1024;

/** Positions are `SSSSSSSSSS.OOOOOOOOOOOO` (segment index, byte offset): fixed width, so strings sort in log order. */
export function filePosition(segment: number, offset: number): LogPosition {
  return `${String(segment).padStart(10, '0')}.${String(offset).padStart(12, '0')}`;
}

/** A record read back; its position string is built only when asked (consumers mostly need only `next`). */
class FileRecord implements LogRecord {
  constructor(
    private readonly segment: number,
    private readonly offset: number,
    readonly data: Uint8Array,
  ) {}

  get position(): LogPosition {
    return filePosition(this.segment, this.offset);
  }
}

function parsePosition(position: LogPosition): { segment: number; offset: number } | null {
  if (position === '') return null;
  const m = POSITION.exec(position);
  if (!m) throw new RangeError(`not a file event log position: ${JSON.stringify(position)}`);
  return { segment: Number(m[1]), offset: Number(m[2]) };
}

function segmentName(index: number): string {
  return `${String(index).padStart(10, '0')}.log`;
}

/** Directories open in this process: a second writer on one directory would interleave records. */
const openDirs = new Set<string>();

export async function createFileEventLog(options: FileEventLogOptions): Promise<FileEventLog> {
  return FileEventLog.open(options);
}

/**
 * The embedded event log: append-only segment files of CRC-checked records, written with group commit
 * (every append of a few milliseconds goes out in one synchronized write, O_DSYNC: durable when it returns, like
 * a write + fdatasync, and all their promises resolve after it). See docs/concepts/event-log.md.
 */
export class FileEventLog implements EventLog {
  private pending: PendingAppend[] = [];
  private pendingBytes = 0;
  /** The write buffer kept between group commits (see writeBuffer). */
  private kept: Buffer | undefined;
  private flushing = false;
  /** The scheduled start of the next commit (a timeout or an immediate), if any. */
  private scheduled: (() => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private failure: unknown;
  private closed = false;
  private counters = { groups: 0, events: 0, bytes: 0 };
  private readonly segmentBytes: number;
  private readonly groupCommitMs: number;
  private readonly groupCommitBytes: number;
  private readonly maxRecordBytes: number;

  private constructor(
    readonly dir: string,
    private readonly options: FileEventLogOptions,
    private readonly segments: Segment[],
    private writer: FileHandle,
    readonly recovery: RecoveryReport,
  ) {
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.groupCommitMs = options.groupCommitMs ?? 0;
    this.groupCommitBytes = options.groupCommitBytes ?? 4 * 1024 * 1024;
    this.maxRecordBytes = options.maxRecordBytes ?? 1024 * 1024;
    const interval = options.retention?.sweepIntervalMs ?? 60_000;
    if (options.retention && interval > 0) {
      this.sweepTimer = setInterval(() => {
        this.sweep().catch(options.onError ?? ((e) => process.emitWarning(`event log retention: ${String(e)}`)));
      }, interval);
      this.sweepTimer.unref();
    }
  }

  static async open(options: FileEventLogOptions): Promise<FileEventLog> {
    const dir = path.resolve(options.dir);
    await fsp.mkdir(dir, { recursive: true });
    await acquireLock(dir);
    try {
      const maxRecordBytes = options.maxRecordBytes ?? 1024 * 1024;
      const names = (await fsp.readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
      const segments: Segment[] = [];
      for (const name of names) {
        const size = (await fsp.stat(path.join(dir, name))).size;
        segments.push({ index: Number(SEGMENT_NAME.exec(name)![1]), size });
      }
      let recovery: RecoveryReport = { truncatedBytes: 0, corruptAt: null };
      const last = segments.at(-1);
      if (last === undefined) {
        segments.push({ index: 1, size: HEADER });
        await createSegmentFile(dir, 1);
      } else {
        recovery = await recoverSegment(dir, last, maxRecordBytes);
        if (recovery.corruptAt !== null) {
          segments.push({ index: last.index + 1, size: HEADER });
          await createSegmentFile(dir, last.index + 1);
        }
      }
      const active = segments.at(-1)!;
      const writer = await openWriter(dir, active.index);
      return new FileEventLog(dir, options, segments, writer, recovery);
    } catch (err) {
      await releaseLock(dir);
      throw err;
    }
  }

  append(events: readonly EncodedEvent[]): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new EventLogClosedError());
    if (this.failure !== undefined) return Promise.reject(this.unavailable());
    if (events.length === 0) return Promise.resolve({ count: 0, first: null, last: null });
    let bytes = 0;
    for (const e of events) {
      const n = e.data.byteLength;
      if (n === 0 || n > this.maxRecordBytes) {
        return Promise.reject(new RangeError(`event ${e.id}: record of ${n} bytes (1..${this.maxRecordBytes})`));
      }
      bytes += FRAME_HEADER_BYTES + n;
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ events, resolve, reject });
      this.pendingBytes += bytes;
      if (this.flushing) return; // the running flush loop takes it next, right after its write
      if (this.pendingBytes >= this.groupCommitBytes) {
        void this.flushLoop();
      } else if (this.scheduled === undefined) {
        if (this.groupCommitMs > 0) {
          const t = setTimeout(() => void this.flushLoop(), this.groupCommitMs);
          this.scheduled = () => clearTimeout(t);
        } else {
          const i = setImmediate(() => void this.flushLoop());
          this.scheduled = () => clearImmediate(i);
        }
      }
    });
  }

  async read(from: LogPosition, max: number): Promise<ReadResult> {
    if (this.closed) throw new EventLogClosedError();
    const start = parsePosition(from);
    const events: LogRecord[] = [];
    let segment = this.segmentAtOrAfter(start?.segment ?? 0);
    if (segment === undefined || max < 1) return { events, next: from };
    let offset = start !== null && segment.index === start.segment ? Math.max(start.offset, HEADER) : HEADER;
    let handle: FileHandle | undefined;
    let handleIndex = -1;
    let stopped = false;
    try {
      while (events.length < max) {
        const limit = segment.size;
        if (offset >= limit) {
          const following = this.segmentAtOrAfter(segment.index + 1);
          if (following === undefined) break;
          segment = following;
          offset = HEADER;
          continue;
        }
        if (handleIndex !== segment.index) {
          await handle?.close();
          handle = await fsp.open(path.join(this.dir, segmentName(segment.index)), 'r');
          handleIndex = segment.index;
        }
        const want = Math.min(limit - offset, READ_CHUNK_BYTES);
        const chunk = Buffer.allocUnsafe(want);
        const { bytesRead } = await handle!.read(chunk, 0, want, offset);
        if (bytesRead < want) {
          throw new EventLogCorruptionError(filePosition(segment.index, offset + bytesRead), 'segment file is short');
        }
        let p = 0;
        while (events.length < max && p < bytesRead) {
          const c = checkFrame(chunk, p, bytesRead, this.maxRecordBytes);
          if (c.kind === 'ok') {
            events.push(new FileRecord(segment.index, offset + p, chunk.subarray(c.dataStart, c.end)));
            p = c.end;
            continue;
          }
          const damage =
            c.kind === 'corrupt' ? c.detail : offset + p + c.needed > limit ? 'record runs past segment end' : null;
          if (damage !== null) {
            // Never skip a damaged record: hand out what came before it, then fail at its position.
            if (events.length > 0) {
              stopped = true;
              break;
            }
            throw new EventLogCorruptionError(filePosition(segment.index, offset + p), damage);
          }
          // Partial within the durable size: the record continues past this chunk.
          if (c.kind === 'partial' && p === 0 && c.needed > want) {
            // A single record bigger than the chunk size: read exactly it next round.
            const big = Buffer.allocUnsafe(c.needed);
            await handle!.read(big, 0, c.needed, offset);
            const b = checkFrame(big, 0, c.needed, this.maxRecordBytes);
            if (b.kind !== 'ok') throw new EventLogCorruptionError(filePosition(segment.index, offset), 'bad record');
            events.push({ position: filePosition(segment.index, offset), data: big.subarray(b.dataStart, b.end) });
            p = b.end;
          }
          break;
        }
        offset += p;
        if (stopped) break;
      }
    } finally {
      await handle?.close();
    }
    if (events.length === 0) return { events, next: from };
    return { events, next: filePosition(segment.index, offset) };
  }

  async end(): Promise<LogPosition> {
    const active = this.segments.at(-1)!;
    return filePosition(active.index, active.size);
  }

  stats(): FileEventLogStats {
    return { ...this.counters };
  }

  /**
   * Deletes old closed segments by the retention policy (never the active one, never one holding events
   * at or after minRetainedPosition). Returns how many were deleted.
   */
  async sweep(nowMs: number = Date.now()): Promise<number> {
    const retention = this.options.retention;
    if (!retention || this.closed) return 0;
    const minRetained = this.options.minRetainedPosition ? await this.options.minRetainedPosition() : null;
    let total = 0;
    for (const s of this.segments) total += s.size;
    let deleted = 0;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      if (minRetained !== null && minRetained < filePosition(oldest.index, oldest.size)) break;
      const file = path.join(this.dir, segmentName(oldest.index));
      const tooOld = retention.maxAgeMs !== undefined && (await fsp.stat(file)).mtimeMs < nowMs - retention.maxAgeMs;
      const tooBig = retention.maxTotalBytes !== undefined && total > retention.maxTotalBytes;
      if (!tooOld && !tooBig) break;
      this.segments.shift();
      await fsp.unlink(file);
      total -= oldest.size;
      deleted++;
    }
    return deleted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.pending.length > 0 && !this.flushing) void this.flushLoop();
    while (this.flushing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.writer.close();
    await releaseLock(this.dir);
  }

  private unavailable(): EventLogUnavailableError {
    return new EventLogUnavailableError(`event log ${this.dir} failed; reopen to recover`, { cause: this.failure });
  }

  /** One group commit after another until nothing is pending; only one runs at a time, so writes stay ordered. */
  private async flushLoop(): Promise<void> {
    if (this.scheduled !== undefined) {
      this.scheduled();
      this.scheduled = undefined;
    }
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const group = this.pending;
        const bytes = this.pendingBytes;
        this.pending = [];
        this.pendingBytes = 0;
        if (this.failure !== undefined) {
          for (const p of group) p.reject(this.unavailable());
          continue;
        }
        try {
          await this.commitGroup(group, bytes);
        } catch (err) {
          // After a failed write or fsync the file's state is unknown ("fsyncgate"): stop accepting appends
          // until the log is reopened, which recovers the tail from what is really on disk.
          this.failure = err;
          for (const p of group) p.reject(this.unavailable());
        }
      }
    } finally {
      this.flushing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async commitGroup(group: readonly PendingAppend[], bytes: number): Promise<void> {
    let active = this.segments.at(-1)!;
    if (active.size > HEADER && active.size + bytes > this.segmentBytes) active = await this.rotate();
    const base = active.size;
    const buf = this.writeBuffer(bytes);
    const results: AppendResult[] = new Array(group.length);
    let off = 0;
    let events = 0;
    for (let g = 0; g < group.length; g++) {
      const list = group[g]!.events;
      const first = off;
      let last = off;
      for (let i = 0; i < list.length; i++) {
        last = off;
        off = writeFrame(buf, off, list[i]!.data);
      }
      events += list.length;
      results[g] = {
        count: list.length,
        first: filePosition(active.index, base + first),
        last: filePosition(active.index, base + last),
      };
    }
    // The writer is opened with O_DSYNC: each write returns once its data and the new file size are durable, as
    // if followed by an fdatasync. Performance: one thread-pool round trip and one syscall per group instead of a
    // write and then an fdatasync (each a hop to the pool and back to the event loop, which delays the answers
    // of the group and the start of the next commit on a loaded machine).
    let written = 0;
    while (written < bytes) {
      const { bytesWritten } = await this.writer.write(buf, written, bytes - written, base + written);
      written += bytesWritten;
    }
    // Without O_DSYNC (not a POSIX system): fdatasync, which also persists the new file size.
    if (WRITER_FLAGS === 'r+') await this.writer.datasync();
    active.size = base + bytes;
    this.counters.groups++;
    this.counters.events += events;
    this.counters.bytes += bytes;
    for (let g = 0; g < group.length; g++) group[g]!.resolve(results[g]!);
  }

  /**
   * Room for a group's frames. Performance: the buffer is kept for the next group (up to KEPT_WRITE_BYTES)
   * instead of a fresh one per group, whose pages the kernel must map and zero on first touch (megabytes per
   * group under batch ingestion). Safe because groups are committed one at a time: the previous group's write
   * has completed before the next one is framed.
   */
  private writeBuffer(bytes: number): Buffer {
    if (this.kept !== undefined && this.kept.length >= bytes) return this.kept.subarray(0, bytes);
    const buf = Buffer.allocUnsafeSlow(bytes);
    if (bytes <= KEPT_WRITE_BYTES) this.kept = buf;
    return buf;
  }

  private async rotate(): Promise<Segment> {
    const index = this.segments.at(-1)!.index + 1;
    await createSegmentFile(this.dir, index);
    const writer = await openWriter(this.dir, index);
    await this.writer.close(); // already fsync'd by its last group commit
    this.writer = writer;
    const segment: Segment = { index, size: HEADER };
    this.segments.push(segment);
    return segment;
  }

  private segmentAtOrAfter(index: number): Segment | undefined {
    for (const s of this.segments) if (s.index >= index) return s;
    return undefined;
  }
}

/** Read-write, every write synchronized like write + fdatasync (O_DSYNC), where the platform has it. */
const WRITER_FLAGS: number | 'r+' =
  fs.constants.O_DSYNC === undefined ? 'r+' : fs.constants.O_RDWR | fs.constants.O_DSYNC;

/** The active segment's write handle (the file exists: createSegmentFile). */
function openWriter(dir: string, index: number): Promise<FileHandle> {
  return fsp.open(path.join(dir, segmentName(index)), WRITER_FLAGS);
}

/** Creates a segment with its magic, durable including its directory entry. */
async function createSegmentFile(dir: string, index: number): Promise<void> {
  const fh = await fsp.open(path.join(dir, segmentName(index)), 'wx');
  try {
    await fh.write(SEGMENT_MAGIC, 0, HEADER, 0);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  const d = await fsp.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Validates the last segment record by record and cuts a torn tail (see RecoveryReport). */
async function recoverSegment(dir: string, segment: Segment, maxRecordBytes: number): Promise<RecoveryReport> {
  const file = path.join(dir, segmentName(segment.index));
  const buf = await fsp.readFile(file);
  if (buf.length < HEADER || (buf.length === HEADER && !buf.equals(SEGMENT_MAGIC))) {
    // Crashed while creating the segment: nothing was ever acknowledged in it.
    const fh = await fsp.open(file, 'r+');
    try {
      await fh.truncate(0);
      await fh.write(SEGMENT_MAGIC, 0, HEADER, 0);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    segment.size = HEADER;
    return { truncatedBytes: buf.length, corruptAt: null };
  }
  if (!buf.subarray(0, HEADER).equals(SEGMENT_MAGIC)) {
    throw new Error(`${file} is not a Marquee event log segment`);
  }
  let off = HEADER;
  while (off < buf.length) {
    const c = checkFrame(buf, off, buf.length, maxRecordBytes);
    if (c.kind !== 'ok') break;
    off = c.end;
  }
  if (off === buf.length) {
    segment.size = off;
    return { truncatedBytes: 0, corruptAt: null };
  }
  if (hasValidFrameAfter(buf, off + 1, buf.length, maxRecordBytes)) {
    segment.size = buf.length;
    return { truncatedBytes: 0, corruptAt: filePosition(segment.index, off) };
  }
  const fh = await fsp.open(file, 'r+');
  try {
    await fh.truncate(off);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  segment.size = off;
  return { truncatedBytes: buf.length - off, corruptAt: null };
}

async function acquireLock(dir: string): Promise<void> {
  if (openDirs.has(dir)) throw new Error(`event log ${dir} is already open in this process`);
  const lock = path.join(dir, 'LOCK');
  try {
    await fsp.writeFile(lock, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number(await fsp.readFile(lock, 'utf8').catch(() => ''));
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new Error(`event log ${dir} is locked by process ${holder}`);
    }
    await fsp.writeFile(lock, String(process.pid)); // stale lock of a dead process
  }
  openDirs.add(dir);
}

async function releaseLock(dir: string): Promise<void> {
  if (!openDirs.delete(dir)) return;
  await fsp.rm(path.join(dir, 'LOCK'), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Segment file names in order, for tools and tests. */
export function listSegmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => SEGMENT_NAME.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}
