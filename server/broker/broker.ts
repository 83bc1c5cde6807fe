// The Broker is the seam between one node and the world: it stores each message in a stream's
// bounded history, gives it an id, and delivers it to every node that subscribed to that stream.
// Routes and the Hub depend on this interface only; MemoryBroker and RedisBroker sit behind it.

/** What a client posts. Validated before it reaches a broker. */
export interface MessageInput {
  author: string;
  text: string;
}

/** A stored message, as every viewer sees it. */
export interface Message {
  /** Redis Stream entry form `<ms>-<seq>`; strictly increasing per stream in delivery order. */
  id: string;
  stream: string;
  author: string;
  text: string;
  /** Milliseconds since the epoch when the broker stored it (the `<ms>` part of the id). */
  ts: number;
  /** The node and region that accepted the POST. */
  node: string;
  region: string;
}

export interface HistoryPage {
  /** Oldest first, every id greater than the `afterId` asked for. */
  messages: Message[];
  /**
   * True when entries after `afterId` were trimmed from the history before this read, so the
   * reader cannot be given everything it missed and must be told (SSE `event: reset`).
   */
  gap: boolean;
  /** How many messages fell into that gap, when the broker knows. */
  lost: number | 'unknown';
  /** Where the stream was at this read (see RecentPage). */
  position: string | null;
  /**
   * The id of the last log entry this read went through, including any it could not decode and
   * left out of `messages` (null if none): where the next page starts.
   */
  readThrough: string | null;
  /** The read stopped at `limit` entries: the log may hold more after `readThrough`. */
  more: boolean;
}

export interface RecentPage {
  /** The latest messages, oldest first. */
  messages: Message[];
  /**
   * Where the stream was at this read, in the same atomic read: the id of the newest message it
   * ever stored, retained or trimmed since ('0-0' if none). A reader that saw nothing starts there
   * so it misses nothing and is told of no loss, and no honest resume id is past it. Null when
   * the broker cannot tell: one that keeps nothing across a restart, with nothing for this
   * stream, may have lost what it had.
   */
  position: string | null;
}

/** What a subscriber is told. Both callbacks run synchronously, in stream order. */
export interface StreamListener {
  onMessage(message: Message): void;
  /**
   * Messages were published that this subscription can no longer deliver (trimmed from history
   * while the subscription was cut off from the broker). Delivery goes on after the gap.
   */
  onGap(gap: Gap): void;
}

/** What a subscription missed: messages after `afterId`, up to and including `trimmedThrough`. */
export interface Gap {
  /** The last id the subscription delivered before the gap ('0-0' when none). */
  afterId: string;
  lost: number | 'unknown';
  /** The newest id trimmed: a reader that has this id or a later one missed nothing of the gap. */
  trimmedThrough: string;
}

export interface Subscription {
  unsubscribe(): Promise<void>;
}

export type BrokerKind = 'memory' | 'redis' | 'redis-cluster';

/**
 * Delivery guarantee, for every implementation:
 * - `publish` resolves only once the message is stored; it rejects (BrokerUnavailableError) rather
 *   than hang when the backend is unreachable. A rejection is never an acknowledgement, but one
 *   that timed out after the command reached Redis may still be stored and delivered later (no
 *   client with timeouts can rule that out); it is never delivered twice.
 * - ids are strictly increasing per stream, and every subscriber of a stream receives its messages
 *   in id order, each exactly once, from the moment `subscribe` resolves.
 * - if a subscriber was cut off and the history was trimmed meanwhile, it gets `onGap` and then
 *   carries on; it never skips silently.
 * - history holds at most about `historySize` messages per stream (Redis trims approximately).
 */
export interface Broker {
  readonly kind: BrokerKind;
  /** Connects (retrying with backoff where the backend is remote). Resolves once usable. */
  start(): Promise<void>;
  publish(stream: string, input: MessageInput): Promise<Message>;
  /**
   * The same as `publish`, done before it returns: only a broker that stores in this process has
   * it. The POST fast path answers with it in the same turn, with no promise to wait on.
   */
  publishNow?(stream: string, input: MessageInput): Message;
  /** publishNow() with the id the post lane gave (`<idMs>-<idSeq>`), past the stream's newest. */
  publishNowAt?(stream: string, input: MessageInput, idMs: number, idSeq: number): Message;
  subscribe(stream: string, listener: StreamListener): Promise<Subscription>;
  /** Messages with an id greater than `afterId` (all retained when null), oldest first, at most `limit`. */
  history(stream: string, afterId: string | null, limit: number): Promise<HistoryPage>;
  /** The latest `limit` messages, oldest first (the page's server-rendered history). */
  recent(stream: string, limit: number): Promise<RecentPage>;
  /** True while the backend is reachable (drives /readyz). */
  isReady(): boolean;
  close(): Promise<void>;
}

/** Thrown by `publish`/`history` when the backend cannot be reached; the API answers 503. */
export class BrokerUnavailableError extends Error {
  constructor(message = 'the message broker is unavailable') {
    super(message);
    this.name = 'BrokerUnavailableError';
  }
}
