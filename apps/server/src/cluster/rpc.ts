/**
 * Request/response over a process IPC channel (a cluster worker's `process`, the primary's `Worker`, or a
 * `fork()`ed child), both directions on one channel:
 *
 *   - calls carry an id; the answer comes back with the same id, a value or an error (name, message, and
 *     the class for the errors callers test with instanceof: the event log's, RangeError, TypeError);
 *   - messages sent within one tick go out as ONE batch (an IPC message costs a serialisation and a syscall;
 *     a burst of pixels or decisions turns into a handful of messages);
 *   - pushes (no answer) carry notifications such as "the change feed has news";
 *   - gathered calls (`gather`): the items of one method sent within one tick go as ONE call with the list,
 *     the other side runs its per-item handler on each in order and answers one outcome per item (the
 *     request events of a burst of decisions: one message and one answer instead of one per decision).
 *
 * The channel must use `serialization: 'advanced'` (structured clone): events travel as Uint8Array.
 * When the channel closes, calls in flight fail with RpcUnavailableError (never hang).
 */
import { EventLogClosedError, EventLogUnavailableError } from '@marquee/events';

/** What both sides of the IPC need of a process-like endpoint. */
export interface IpcEndpoint {
  send?(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  /** A child process's or worker `process`'s flag. */
  readonly connected?: boolean;
  /** A cluster `Worker` has this instead (sending on its closed channel emits 'error' later, not a throw). */
  isConnected?(): boolean;
}

export type RpcHandler = (...args: never[]) => unknown;
export type RpcHandlers = Record<string, RpcHandler>;

/** The other side is gone (exited, or the channel closed): the call's outcome is unknown. */
export class RpcUnavailableError extends EventLogUnavailableError {}

interface WireError {
  readonly name: string;
  readonly message: string;
}
type Message =
  | { readonly t: 'q'; readonly id: number; readonly m: string; readonly a: readonly unknown[] }
  | { readonly t: 'r'; readonly id: number; readonly v?: unknown; readonly e?: WireError }
  | { readonly t: 'p'; readonly topic: string; readonly v: unknown };
interface Batch {
  readonly rpc: 'marquee';
  readonly msgs: readonly Message[];
}

// Errors rebuilt with their class on the calling side (callers branch on them).
const ERROR_CLASSES: Record<string, new (message: string) => Error> = {
  EventLogUnavailableError,
  RangeError,
  TypeError,
};

function toWire(err: unknown): WireError {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

function fromWire(e: WireError): Error {
  if (e.name === 'EventLogClosedError') return new EventLogClosedError();
  const Class = ERROR_CLASSES[e.name];
  if (Class) return new Class(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/** One item's outcome of a gathered call. */
type Outcome = { readonly v?: unknown; readonly e?: WireError };

/**
 * The handler of a gathered method (RpcChannel.gather) from its per-item handler: items are started in
 * order (an event log append takes its place in the log when called) and answered one outcome each.
 */
export function gatheredHandler<I>(handler: (item: I) => unknown): RpcHandler {
  return (async (items: I[]) => {
    const settled = await Promise.allSettled(items.map(async (item) => handler(item)));
    return settled.map((r): Outcome => (r.status === 'fulfilled' ? { v: r.value } : { e: toWire(r.reason) }));
  }) as RpcHandler;
}

export interface RpcChannel {
  /** Calls `method` on the other side; resolves with its result (awaited there). */
  call<T>(method: string, ...args: unknown[]): Promise<T>;
  /**
   * Calls the other side's gathered handler `method` with one item. Items gathered in the same tick travel
   * together (in order, at the place of the first), each caller gets its own result or error.
   */
  gather<T>(method: string, item: unknown): Promise<T>;
  /** Answers gathered calls of `method`: the handler runs once per item, in the order they were gathered. */
  serveGathered(method: string, handler: (item: never) => unknown): void;
  push(topic: string, value: unknown): void;
  onPush(topic: string, listener: (value: unknown) => void): void;
  /** Answers the other side's calls (a handler may return a value or a promise). */
  serve(handlers: RpcHandlers): void;
  /** Calls in flight (tests, shutdown). */
  readonly pending: number;
  /** Fails the calls in flight and stops listening. */
  close(): void;
}

export function createRpcChannel(endpoint: IpcEndpoint): RpcChannel {
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const handlers: RpcHandlers = {};
  const pushListeners = new Map<string, ((value: unknown) => void)[]>();
  let outbox: Message[] = [];
  let scheduled = false;
  let closed = false;
  // The open gathered call of each method until the next flush: its items array is the call's argument,
  // filled until the batch is serialised.
  let gathering = new Map<string, unknown[]>();

  const flush = () => {
    scheduled = false;
    if (gathering.size > 0) gathering = new Map();
    const msgs = outbox;
    outbox = [];
    if (msgs.length === 0) return;
    if (closed || !endpoint.send || endpoint.connected === false || endpoint.isConnected?.() === false) {
      failCalls(msgs);
      return;
    }
    try {
      endpoint.send({ rpc: 'marquee', msgs } satisfies Batch);
    } catch {
      failCalls(msgs);
    }
  };
  const failCalls = (msgs: readonly Message[]) => {
    for (const m of msgs) {
      if (m.t !== 'q') continue;
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      w?.reject(new RpcUnavailableError('the other process is not reachable'));
    }
  };
  const enqueue = (m: Message) => {
    outbox.push(m);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  const answer = async (q: Extract<Message, { t: 'q' }>) => {
    const handler = handlers[q.m];
    try {
      if (!handler) throw new Error(`no RPC method ${q.m}`);
      const v = await (handler as (...args: unknown[]) => unknown)(...q.a);
      enqueue({ t: 'r', id: q.id, v });
    } catch (err) {
      enqueue({ t: 'r', id: q.id, e: toWire(err) });
    }
  };

  const onMessage = (raw: unknown) => {
    const batch = raw as Batch;
    if (batch?.rpc !== 'marquee') return;
    for (const m of batch.msgs) {
      if (m.t === 'q') void answer(m);
      else if (m.t === 'r') {
        const w = waiting.get(m.id);
        if (!w) continue;
        waiting.delete(m.id);
        if (m.e) w.reject(fromWire(m.e));
        else w.resolve(m.v);
      } else {
        for (const l of pushListeners.get(m.topic) ?? []) l(m.v);
      }
    }
  };
  const onDisconnect = () => {
    closed = true;
    const all = [...waiting.values()];
    waiting.clear();
    for (const w of all) w.reject(new RpcUnavailableError('the other process is gone'));
  };
  endpoint.on('message', onMessage);
  endpoint.on('disconnect', onDisconnect);

  const call = <T>(method: string, args: unknown[]): Promise<T> => {
    if (closed) return Promise.reject(new RpcUnavailableError('the other process is gone'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      enqueue({ t: 'q', id, m: method, a: args });
    });
  };
  // The gathered call of a method in this tick: one promise for the list, each caller reads its own outcome.
  const gathered = new Map<unknown[], Promise<Outcome[]>>();

  return {
    call<T>(method: string, ...args: unknown[]): Promise<T> {
      return call<T>(method, args);
    },
    gather<T>(method: string, item: unknown): Promise<T> {
      let items = gathering.get(method);
      let all: Promise<Outcome[]>;
      if (items === undefined || closed) {
        items = [];
        all = call<Outcome[]>(method, [items]);
        if (!closed) {
          gathering.set(method, items);
          gathered.set(items, all);
          const forget = () => gathered.delete(items!);
          all.then(forget, forget);
        }
      } else {
        all = gathered.get(items)!;
      }
      const index = items.push(item) - 1;
      return all.then((outcomes) => {
        const o = outcomes[index]!;
        if (o.e) throw fromWire(o.e);
        return o.v as T;
      });
    },
    serveGathered(method, handler) {
      handlers[method] = gatheredHandler(handler);
    },
    push(topic, value) {
      if (!closed) enqueue({ t: 'p', topic, v: value });
    },
    onPush(topic, listener) {
      const list = pushListeners.get(topic) ?? [];
      list.push(listener);
      pushListeners.set(topic, list);
    },
    serve(more) {
      Object.assign(handlers, more);
    },
    get pending() {
      return waiting.size;
    },
    close() {
      endpoint.off('message', onMessage);
      onDisconnect();
    },
  };
}
