// RedisBroker: the Broker over a Redis Cluster (or one Redis). Owns each stream's delivery state:
// the log (a Redis Stream) and live channel (sharded pub/sub) of every subscribed stream, and the
// repair of any gap between what pub/sub delivered and what the log holds. Connections are in
// redis-connections.ts, keys and wire decoding in redis-wire.ts.
import type { Config } from '../config.js';
import {
  BrokerUnavailableError,
  type Broker,
  type HistoryPage,
  type Message,
  type MessageInput,
  type RecentPage,
  type StreamListener,
  type Subscription,
} from './broker.js';
import { compareIdText, formatId, parseId } from './ids.js';
import {
  clusterConnections,
  singleConnections,
  type BrokerLogger,
  type Connections,
  type ConnectionEvents,
  type ScriptCommands,
} from './redis-connections.js';
import { decodeEntry, decodeLive, streamKeys, type LiveMessage, type RawEntry, type StreamKeys } from './redis-wire.js';
import { backoffMs, delay, describe, withTimeout } from './retry.js';

export type { BrokerLogger } from './redis-connections.js';
export { streamKeys } from './redis-wire.js';

export interface RedisBrokerOptions {
  redis: NonNullable<Config['redis']>;
  historySize: number;
  /** 0 keeps messages until historySize pushes them out. */
  historyMaxAgeMs: number;
  nodeId: string;
  region: string;
  logger?: BrokerLogger;
  /** Longest a publish, history read or subscribe may take before it fails as unavailable. */
  operationTimeoutMs?: number;
  /** How often Redis is pinged to drive isReady(). */
  healthCheckMs?: number;
  /**
   * How often every subscribed stream's newest id is compared with the last one delivered: the
   * safety net under the event-driven repair, for losses no ioredis event reveals. 0 turns it off.
   */
  reconcileMs?: number;
  /**
   * Cluster only: how often the slot ranges are checked against the client's table (see
   * watchTopology in redis-connections.ts). 0 turns it off.
   */
  topologyCheckMs?: number;
}

/** One subscribed stream on this node: its listeners and where delivery stands. */
interface StreamState {
  stream: string;
  keys: StreamKeys;
  listeners: Set<StreamListener>;
  /** Id of the last message delivered (or the log's newest id when the subscription began);
   * null while nothing was, on a log that was empty then. */
  lastId: string | null;
  /** With lastId null: the newest id trimmed before the subscription began ('0-0' if none), so
   * that a catch-up reports what was trimmed since, and only that. */
  emptyLogAfter: string;
  /** Set while the subscription starts or the log is being read: live messages wait in `buffered`. */
  catchingUp: boolean;
  catchUpAgain: boolean;
  catchUpAttempts: number;
  buffered: LiveMessage[];
  /** Set until the first subscriber's SSUBSCRIBE and starting point are in place. */
  joining: Promise<void> | null;
  resyncing: boolean;
  resyncAgain: boolean;
  /** Ends the wait between two resubscribe attempts early (see resync()). */
  wakeResync: (() => void) | null;
  removed: boolean;
  timers: Set<NodeJS.Timeout>;
}

const CATCH_UP_PAGE = 500;
/** Live messages held while the log is read; past this they are dropped and read from the log. */
const MAX_BUFFERED = 10_000;
const silentLogger: BrokerLogger = { debug() {}, info() {}, warn() {}, error() {} };


export class RedisBroker implements Broker {
  readonly kind: 'redis' | 'redis-cluster';
  private readonly log: BrokerLogger;
  private readonly operationTimeoutMs: number;
  private readonly healthCheckMs: number;
  private readonly reconcileMs: number;
  private readonly trimSlack: number;
  private readonly connections: Connections;
  private readonly scripts: ScriptCommands;
  private readonly streams = new Map<string, StreamState>();
  private readonly byChannel = new Map<string, StreamState>();
  private started: Promise<void> | null = null;
  private healthy = false;
  private closed = false;
  private healthTimer: NodeJS.Timeout | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: RedisBrokerOptions) {
    this.kind = options.redis.kind === 'cluster' ? 'redis-cluster' : 'redis';
    this.log = options.logger ?? silentLogger;
    this.operationTimeoutMs = options.operationTimeoutMs ?? 1500;
    this.healthCheckMs = options.healthCheckMs ?? 1000;
    this.reconcileMs = options.reconcileMs ?? 5000;
    // Up to 10% (at most 100) over historySize between trims: trimming reads what it removes.
    this.trimSlack = Math.min(100, Math.floor(options.historySize / 10));
    const events: ConnectionEvents = {
      onMessage: (channel, payload) => this.onLive(channel, payload),
      onResubscribeNeeded: (reason) => this.scheduleResync(reason),
      onDown: (reason) => this.markDown(reason),
      log: this.log,
    };
    const commandTimeoutMs = Math.max(100, this.operationTimeoutMs - 300);
    this.connections =
      options.redis.kind === 'cluster'
        ? clusterConnections(options.redis.nodes, options.nodeId, commandTimeoutMs, events, options.topologyCheckMs)
        : singleConnections(options.redis.url, options.nodeId, commandTimeoutMs, events);
    this.scripts = this.connections.scripts;
  }

  /** Connects, retrying with backoff until every shard answers; close() ends the wait. */
  start(): Promise<void> {
    this.started ??= this.connect();
    return this.started;
  }

  private async connect(): Promise<void> {
    // ioredis keeps reconnecting by itself (retry strategies below); this loop only waits for it.
    this.connections.connect();
    const startedAt = Date.now();
    let warned = 0;
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await withTimeout(this.connections.probe(), this.operationTimeoutMs, 'Redis did not answer');
        this.healthy = true;
        this.log.info({ kind: this.kind, waitedMs: Date.now() - startedAt }, 'redis broker connected');
        this.scheduleHealthCheck();
        this.scheduleReconcile();
        return;
      } catch (error) {
        // Connecting takes a few probes anyway; only a wait of seconds is worth a warning.
        const waitedMs = Date.now() - startedAt;
        if (waitedMs > 2000 && (warned === 0 || waitedMs - warned > 10_000)) {
          warned = waitedMs;
          this.log.warn({ waitedMs, err: describe(error) }, 'redis unreachable, still trying');
        }
        await delay(backoffMs(attempt));
      }
    }
    throw new BrokerUnavailableError('the broker was closed before Redis became reachable');
  }

  async publish(stream: string, input: MessageInput): Promise<Message> {
    const keys = streamKeys(stream);
    const { nodeId: node, region, historySize, historyMaxAgeMs } = this.options;
    const body = JSON.stringify({ author: input.author, text: input.text, node, region });
    const id = await this.call('publish', () =>
      this.scripts.ssePublish(keys.log, keys.trimmed, keys.channel, body, historySize, this.trimSlack, historyMaxAgeMs),
    );
    const parsed = parseId(String(id));
    if (!parsed) throw new Error(`the publish script returned a malformed id: ${String(id)}`);
    return { id: formatId(parsed), stream, author: input.author, text: input.text, ts: parsed.ms, node, region };
  }

  async subscribe(stream: string, listener: StreamListener): Promise<Subscription> {
    if (this.closed) throw new BrokerUnavailableError('the message broker is closed');
    let state = this.streams.get(stream);
    if (!state) {
      const created = newStreamState(stream);
      this.streams.set(stream, created);
      this.byChannel.set(created.keys.channel, created);
      created.joining = this.join(created).finally(() => {
        created.joining = null;
      });
      state = created;
    }
    // Added before the subscription is live: nothing is delivered until the starting point is
    // known, and from then on this listener gets everything.
    state.listeners.add(listener);
    if (state.joining) {
      try {
        await state.joining;
      } catch (error) {
        state.listeners.delete(listener);
        if (state.listeners.size === 0 && !state.removed) this.forget(state);
        throw error;
      }
    }
    const subscribed = state;
    return { unsubscribe: () => this.leave(subscribed, listener) };
  }

  /**
   * Subscribes first, then reads the log's newest id: every message published after that read
   * arrives on the channel, and everything before it is not this subscription's to deliver.
   */
  private async join(state: StreamState): Promise<void> {
    state.catchingUp = true;
    await this.call('subscribe', () => this.connections.subscribe(state.keys.channel));
    const newest = await this.call('subscribe', () => this.connections.commands.xrevrange(state.keys.log, '+', '-', 'COUNT', 1));
    state.lastId = newest[0]?.[0] ?? null;
    if (state.lastId !== null) {
      // A log written before the publish script made its trimmed-id key exist lacks it, and
      // while its slot migrates Redis refuses the scripts that declare both (TRYAGAIN).
      await this.call('subscribe', () => this.connections.commands.set(state.keys.trimmed, '', 'NX'));
    } else {
      // An empty log may have had entries aged out: trims before this are not this node's loss.
      state.emptyLogAfter = (await this.call('subscribe', () => this.connections.commands.get(state.keys.trimmed))) || '0-0';
    }
    state.catchingUp = false;
    // A reconnect during the join may have cut the fresh subscription: read the log once more.
    if (state.catchUpAgain) this.catchUp(state, 'reconnected while joining');
    else this.drain(state);
  }

  private async leave(state: StreamState, listener: StreamListener): Promise<void> {
    state.listeners.delete(listener);
    if (state.listeners.size > 0 || state.removed) return;
    this.forget(state);
  }

  /** Drops a stream nobody on this node listens to; its channel is unsubscribed in the background. */
  private forget(state: StreamState): void {
    state.removed = true;
    for (const timer of state.timers) clearTimeout(timer);
    state.timers.clear();
    if (this.streams.get(state.stream) === state) this.streams.delete(state.stream);
    if (this.byChannel.get(state.keys.channel) === state) this.byChannel.delete(state.keys.channel);
    // Before start() nothing was subscribed, and a command would make ioredis connect early.
    if (this.closed || !this.started) return;
    withTimeout(this.connections.unsubscribe(state.keys.channel), this.operationTimeoutMs, 'unsubscribe timed out').catch(
      (error: unknown) => this.log.debug({ stream: state.stream, err: describe(error) }, 'unsubscribe failed'),
    );
  }

  async history(stream: string, afterId: string | null, limit: number): Promise<HistoryPage> {
    const read = Math.max(1, limit);
    const page = await this.readAfter(stream, afterId, read);
    return {
      messages: page.messages.slice(0, Math.max(0, limit)),
      gap: page.gap,
      lost: page.lost,
      position: page.position,
      readThrough: page.lastScannedId,
      more: page.scanned >= read,
    };
  }

  async recent(stream: string, limit: number): Promise<RecentPage> {
    const keys = streamKeys(stream);
    const [entries, newest] = await this.call('recent', () =>
      this.scripts.sseRecent(keys.log, Math.max(1, limit), this.options.historyMaxAgeMs),
    );
    // Trims keep a log's newest entry, so only a log lost another way (eviction, a failover onto
    // a replica without it) is empty with a trimmed id left. Read after the script, on its own: a
    // post in between only trims ids older than the one it adds, which a reader resuming from the
    // value read is still given. Redis keeps streams across restarts, so nothing at all is 0-0.
    const position = newest || (await this.call('recent', () => this.connections.commands.get(keys.trimmed))) || '0-0';
    return { messages: this.decodeEntries(stream, entries.slice(0, Math.max(0, limit))).messages.reverse(), position };
  }

  isReady(): boolean {
    return this.healthy && !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.healthy = false;
    for (const timer of [this.healthTimer, this.reconcileTimer, this.resyncTimer]) if (timer) clearTimeout(timer);
    for (const state of this.streams.values()) this.forget(state);
    await this.connections.close();
  }

  // -------------------------------------------------------------------------------------------
  // Live delivery and gap repair

  private onLive(channel: string, payload: string): void {
    const state = this.byChannel.get(channel);
    if (!state) return;
    const live = decodeLive(state.stream, payload);
    if (!live) {
      this.log.warn({ stream: state.stream, payload: payload.slice(0, 200) }, 'dropped a malformed pub/sub payload');
      return;
    }
    if (state.catchingUp) {
      this.buffer(state, live);
      return;
    }
    if (!this.applyLive(state, live)) {
      this.buffer(state, live);
      this.catchUp(state, 'gap');
    }
  }

  /** Delivers a live message that follows the last delivered one; false when something is missing. */
  private applyLive(state: StreamState, live: LiveMessage): boolean {
    if (state.lastId !== null && compareIdText(live.message.id, state.lastId) <= 0) return true; // already delivered
    if (live.previousId !== (state.lastId ?? '')) return false;
    this.deliver(state, live.message);
    return true;
  }

  private buffer(state: StreamState, live: LiveMessage): void {
    if (state.buffered.length >= MAX_BUFFERED) {
      // Every live message is in the log too: read them from there instead of holding them.
      state.buffered = [];
      state.catchUpAgain = true;
    }
    state.buffered.push(live);
  }

  private drain(state: StreamState): void {
    while (state.buffered.length > 0 && !state.catchingUp && !state.removed) {
      const live = state.buffered.shift()!;
      if (!this.applyLive(state, live)) {
        state.buffered.unshift(live);
        this.catchUp(state, 'gap');
      }
    }
  }

  private deliver(state: StreamState, message: Message): void {
    state.lastId = message.id;
    for (const listener of state.listeners) {
      try {
        listener.onMessage(message);
      } catch (error) {
        this.log.error({ stream: state.stream, err: describe(error) }, 'a stream listener threw');
      }
    }
  }

  /**
   * Reads the log after the last delivered id and delivers what is missing, in order; live
   * messages wait meanwhile, so catch-up and live never interleave out of order.
   */
  private catchUp(state: StreamState, reason: string): void {
    if (state.removed || this.closed) return;
    if (state.catchingUp) {
      state.catchUpAgain = true;
      return;
    }
    state.catchingUp = true;
    this.log.debug({ stream: state.stream, reason, lastId: state.lastId }, 'reading the log to fill a gap');
    void this.runCatchUp(state);
  }

  private async runCatchUp(state: StreamState): Promise<void> {
    try {
      do {
        state.catchUpAgain = false;
        let page: LogPage;
        do {
          // From the start of an empty log's history, but with its trims reported (readAfter
          // reports none for a reader without an id).
          page = await this.readAfter(state.stream, state.lastId ?? state.emptyLogAfter, CATCH_UP_PAGE, state.lastId !== null);
          if (state.removed) return;
          if (page.gap) this.reportGap(state, page);
          for (const message of page.messages) {
            if (state.lastId === null || compareIdText(message.id, state.lastId) > 0) this.deliver(state, message);
          }
          // Past malformed entries too, or the next read would return them again.
          if (page.lastScannedId && (state.lastId === null || compareIdText(page.lastScannedId, state.lastId) > 0)) {
            state.lastId = page.lastScannedId;
          }
        } while (page.scanned >= CATCH_UP_PAGE);
      } while (state.catchUpAgain && !state.removed);
      state.catchUpAttempts = 0;
      state.catchingUp = false;
      this.drain(state);
    } catch (error) {
      if (state.removed || this.closed) return;
      // Redis is unreachable: keep holding live messages and read again once it may be back.
      state.catchUpAttempts += 1;
      this.log.debug({ stream: state.stream, err: describe(error), attempt: state.catchUpAttempts }, 'catch-up failed, retrying');
      const timer = setTimeout(() => {
        state.timers.delete(timer);
        void this.runCatchUp(state);
      }, backoffMs(state.catchUpAttempts));
      state.timers.add(timer);
    }
  }

  private reportGap(state: StreamState, page: LogPage): void {
    const afterId = state.lastId ?? state.emptyLogAfter;
    if (page.forked) this.log.warn({ stream: state.stream, afterId }, 'the log no longer holds the last message this node delivered: a failover lost writes, and messages may be missed');
    else this.log.warn({ stream: state.stream, afterId }, 'messages were trimmed before this node could deliver them');
    for (const listener of state.listeners) {
      try {
        // A gap is reported only where something was trimmed or the log forked: trimmedThrough is set.
        listener.onGap({ afterId, lost: page.lost, trimmedThrough: page.trimmedThrough ?? afterId });
      } catch (error) {
        this.log.error({ stream: state.stream, err: describe(error) }, 'a stream listener threw');
      }
    }
  }

  /** After a reconnect, failover or slot move: subscribe every stream again, then read the log. */
  private scheduleResync(reason: string): void {
    if (this.closed || this.streams.size === 0) return;
    this.log.debug({ reason }, 'resubscribing streams');
    // Events come in bursts (+subscriber, subscribersReady, ready): one pass serves them all.
    if (this.resyncTimer) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      for (const state of this.streams.values()) void this.resync(state);
    }, 20);
  }

  private async resync(state: StreamState): Promise<void> {
    if (state.resyncing) {
      state.resyncAgain = true;
      // A retry waiting out its backoff goes at once: a new slot table or a new connection is
      // what it was waiting for. After a failover the backoff had grown to 1-2 s by the time the
      // replica took over, and a busy stream's missed messages could be trimmed meanwhile.
      state.wakeResync?.();
      return;
    }
    state.resyncing = true;
    // ioredis resubscribes by itself but only debug-logs a failure, and its `subscribersReady`
    // fires before its SSUBSCRIBE is answered. Our own SSUBSCRIBE, answered on the same
    // connection, tells when the channel is live again; only then is reading the log gap-free.
    for (let attempt = 1; !state.removed && !this.closed; attempt++) {
      state.resyncAgain = false;
      try {
        await withTimeout(this.connections.resubscribe(state.keys.channel), this.operationTimeoutMs, 'subscribe timed out');
        this.catchUp(state, 'resubscribed');
        if (!state.resyncAgain) break;
      } catch (error) {
        // The first attempts fail during any failover; only a lasting failure is worth a warning.
        const level = attempt === 3 || attempt % 10 === 0 ? 'warn' : 'debug';
        this.log[level]({ stream: state.stream, attempt, err: describe(error) }, 'resubscribe failed, retrying');
        await this.resyncBackoff(state, backoffMs(attempt));
      }
    }
    state.resyncing = false;
  }

  private resyncBackoff(state: StreamState, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        state.wakeResync = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      state.wakeResync = done;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Readiness

  private markDown(reason: string): void {
    if (this.healthy) this.log.warn({ reason }, 'redis broker is down');
    this.healthy = false;
  }

  private scheduleHealthCheck(): void {
    if (this.closed) return;
    this.healthTimer = setTimeout(async () => {
      try {
        await withTimeout(this.connections.probe(), this.operationTimeoutMs, 'health check timed out');
        if (!this.healthy && !this.closed) {
          this.healthy = true;
          this.log.info({}, 'redis broker is back');
          // Whatever happened while down, the log has it: read it for every stream.
          for (const state of this.streams.values()) void this.resync(state);
        }
      } catch (error) {
        this.markDown(describe(error));
      }
      this.scheduleHealthCheck();
    }, this.healthCheckMs);
    this.healthTimer.unref();
  }

  /** Compares each stream's newest id with the last delivered one; a newer one means a missed message. */
  private scheduleReconcile(): void {
    if (this.closed || this.reconcileMs <= 0) return;
    this.reconcileTimer = setTimeout(async () => {
      await Promise.all(
        [...this.streams.values()].map(async (state) => {
          if (state.catchingUp || state.removed) return;
          try {
            const newest = await this.connections.commands.xrevrange(state.keys.log, '+', '-', 'COUNT', 1);
            const newestId = newest[0]?.[0];
            if (newestId && (state.lastId === null || compareIdText(newestId, state.lastId) > 0)) {
              this.catchUp(state, 'reconcile');
            }
          } catch {
            // the health check reports outages
          }
        }),
      );
      this.scheduleReconcile();
    }, this.reconcileMs);
    this.reconcileTimer.unref();
  }

  // -------------------------------------------------------------------------------------------
  // Reads and errors

  /** @param afterIsDelivered `afterId` is an entry this node delivered: its absence is a fork. */
  private async readAfter(stream: string, afterId: string | null, limit: number, afterIsDelivered = false): Promise<LogPage> {
    const keys = streamKeys(stream);
    const after = afterId === null ? null : parseId(afterId);
    const [trimmed, entries, position, gone] = await this.call('history', () =>
      this.scripts.sseHistory(keys.log, keys.trimmed, after ? formatId(after) : '', limit, this.options.historyMaxAgeMs, afterIsDelivered ? '1' : ''),
    );
    // A gap when something newer than the reader's id was trimmed (a reader whose id is the newest
    // trimmed one, or later, missed nothing), or when the entry it last had is gone untrimmed: a
    // failover lost writes it had seen, and the new master may hold others with lower ids.
    const forked = gone === '1';
    const gap = forked || (after !== null && trimmed !== '' && compareIdText(formatId(after), trimmed) < 0);
    const decoded = this.decodeEntries(stream, entries);
    const trimmedThrough = forked && after ? formatId(after) : trimmed || null;
    return { ...decoded, gap, forked, lost: gap ? 'unknown' : 0, trimmedThrough, scanned: entries.length, position: position || '0-0' };
  }

  private decodeEntries(stream: string, entries: RawEntry[]): { messages: Message[]; lastScannedId: string | null } {
    const messages: Message[] = [];
    for (const [id, fields] of entries) {
      const message = decodeEntry(stream, id, fields);
      if (message) messages.push(message);
      else this.log.warn({ stream, id }, 'skipped a malformed log entry');
    }
    return { messages, lastScannedId: entries.at(-1)?.[0] ?? null };
  }

  /** Runs one Redis operation under the broker's deadline; outages become BrokerUnavailableError. */
  private async call<T>(what: string, operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw new BrokerUnavailableError('the message broker is closed');
    if (!this.started) throw new BrokerUnavailableError('the message broker was not started');
    try {
      return await withTimeout(operation(), this.operationTimeoutMs, `no answer from Redis within ${this.operationTimeoutMs} ms`);
    } catch (error) {
      if (!isOutage(error)) throw error;
      this.markDown(`${what}: ${describe(error)}`);
      throw new BrokerUnavailableError(`${what} failed, the message broker is unavailable: ${describe(error)}`);
    }
  }
}

interface LogPage {
  messages: Message[];
  gap: boolean;
  lost: number | 'unknown';
  /** The newest id trimmed from the log so far (or the reader's own, when the log forked), null when none was. */
  trimmedThrough: string | null;
  /** The entry the reader last had is gone, though no trim took it (see readAfter). */
  forked: boolean;
  position: string;
  /** Entries read, well-formed or not; a full page means there may be more. */
  scanned: number;
  lastScannedId: string | null;
}

function newStreamState(stream: string): StreamState {
  return {
    stream,
    keys: streamKeys(stream),
    listeners: new Set(),
    lastId: null,
    emptyLogAfter: '0-0',
    catchingUp: false,
    catchUpAgain: false,
    catchUpAttempts: 0,
    buffered: [],
    joining: null,
    resyncing: false,
    resyncAgain: false,
    wakeResync: null,
    removed: false,
    timers: new Set(),
  };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Redis replies that mean "not now" rather than "wrong": the API answers 503 for those. */
const OUTAGE_REPLIES = new Set(['CLUSTERDOWN', 'TRYAGAIN', 'MOVED', 'ASK', 'LOADING', 'MASTERDOWN', 'READONLY', 'NOREPLICAS', 'BUSY', 'OOM']);

function isOutage(error: unknown): boolean {
  if (error instanceof BrokerUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  // Any other Redis error reply is a bug (a script error, a wrong type), not an outage.
  if (error.name === 'ReplyError') return OUTAGE_REPLIES.has(error.message.split(' ')[0] ?? '');
  return true;
}
