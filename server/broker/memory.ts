// MemoryBroker: the embedded default for a single node with no Redis. One process, a bounded
// history per stream, synchronous in-order delivery to local subscribers.
import {
  type Broker,
  type HistoryPage,
  type RecentPage,
  type Message,
  type MessageInput,
  type StreamListener,
  type Subscription,
} from './broker.js';
import { compareIds, formatId, nextId, parseId, type EntryId } from './ids.js';

export interface MemoryBrokerOptions {
  historySize: number;
  /** 0 keeps messages until historySize pushes them out. */
  historyMaxAgeMs: number;
  nodeId: string;
  region: string;
  /** Injected for tests of age trimming; defaults to Date.now. */
  now?: () => number;
}

interface StreamState {
  /** The stream's name as its own string, shared by all its messages (see state()). */
  name: string;
  /** Retained messages, oldest first; `start` is the index of the oldest live one. */
  messages: Message[];
  start: number;
  lastId: EntryId | null;
  /** Id of the newest message trimmed away, so a reader can tell whether it missed any. */
  lastTrimmedId: EntryId | null;
  /** How many messages were trimmed since the start of the stream. */
  trimmed: number;
  listeners: Set<StreamListener>;
}

export class MemoryBroker implements Broker {
  readonly kind = 'memory' as const;
  private readonly streams = new Map<string, StreamState>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: MemoryBrokerOptions) {
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {}

  async publish(stream: string, input: MessageInput): Promise<Message> {
    return this.store(stream, input);
  }

  publishNow(stream: string, input: MessageInput): Message {
    return this.store(stream, input);
  }

  publishNowAt(stream: string, input: MessageInput, idMs: number, idSeq: number): Message {
    return this.store(stream, input, { ms: idMs, seq: idSeq });
  }

  private store(stream: string, input: MessageInput, given?: EntryId): Message {
    const state = this.state(stream);
    // The lane takes ids from the newest the Hub told it (lane-rooms.ts); one not past the
    // stream's newest would break the history's order.
    if (given && state.lastId && compareIds(given, state.lastId) <= 0) throw new Error(`id ${formatId(given)} is not past ${formatId(state.lastId)} in ${stream}`);
    const id = given ?? nextId(state.lastId, this.now());
    state.lastId = id;
    const message: Message = {
      id: formatId(id),
      stream: state.name,
      author: input.author,
      text: input.text,
      ts: id.ms,
      node: this.options.nodeId,
      region: this.options.region,
    };
    state.messages.push(message);
    this.trim(state);
    for (const listener of state.listeners) listener.onMessage(message);
    return message;
  }

  async subscribe(stream: string, listener: StreamListener): Promise<Subscription> {
    const state = this.state(stream);
    state.listeners.add(listener);
    return {
      unsubscribe: async () => {
        state.listeners.delete(listener);
        this.forgetIfIdle(stream, state);
      },
    };
  }

  async history(stream: string, afterId: string | null, limit: number): Promise<HistoryPage> {
    const state = this.streams.get(stream);
    if (!state) return { messages: [], gap: false, lost: 0, position: null, readThrough: null, more: false };
    this.trim(state);
    const after = afterId === null ? null : parseId(afterId);
    // Binary search: the first retained message with an id greater than `after`.
    let low = state.start;
    let high = state.messages.length;
    while (after && low < high) {
      const middle = (low + high) >>> 1;
      if (compareIds(parseId(state.messages[middle]!.id)!, after) > 0) high = middle;
      else low = middle + 1;
    }
    const gap = after !== null && state.lastTrimmedId !== null && compareIds(after, state.lastTrimmedId) < 0;
    // A reader starting from 0-0 missed everything trimmed; otherwise we cannot tell how much.
    const fromStart = after !== null && after.ms === 0 && after.seq === 0;
    const messages = state.messages.slice(low, low + limit);
    return {
      messages,
      gap,
      lost: gap ? (fromStart ? state.trimmed : 'unknown') : 0,
      position: positionOf(state),
      readThrough: messages.at(-1)?.id ?? null,
      more: low + limit < state.messages.length,
    };
  }

  async recent(stream: string, limit: number): Promise<RecentPage> {
    const state = this.streams.get(stream);
    if (!state) return { messages: [], position: null };
    this.trim(state);
    return { messages: state.messages.slice(Math.max(state.start, state.messages.length - limit)), position: positionOf(state) };
  }

  isReady(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.streams.clear();
  }

  private state(stream: string): StreamState {
    let state = this.streams.get(stream);
    if (!state) {
      // The name a request passes is often a slice of that request's whole head: kept in every
      // retained message, it would keep each head alive too.
      const name = Buffer.from(stream, 'utf8').toString('utf8');
      state = { name, messages: [], start: 0, lastId: null, lastTrimmedId: null, trimmed: 0, listeners: new Set() };
      this.streams.set(name, state);
    }
    return state;
  }

  /** Drops what is over the size or age limit; compacts the array once half of it is dead. */
  private trim(state: StreamState): void {
    const { historySize, historyMaxAgeMs } = this.options;
    const oldestKept = historyMaxAgeMs > 0 ? this.now() - historyMaxAgeMs : -Infinity;
    while (state.start < state.messages.length) {
      const oldest = state.messages[state.start]!;
      const overSize = state.messages.length - state.start > historySize;
      if (!overSize && oldest.ts >= oldestKept) break;
      state.lastTrimmedId = parseId(oldest.id);
      state.trimmed += 1;
      state.start += 1;
    }
    if (state.start > 1024 && state.start * 2 > state.messages.length) {
      state.messages = state.messages.slice(state.start);
      state.start = 0;
    }
  }

  /**
   * A stream nobody listens to keeps its history (a viewer may resume later); its state is only
   * dropped when it holds nothing at all.
   */
  private forgetIfIdle(stream: string, state: StreamState): void {
    if (state.listeners.size === 0 && state.messages.length === state.start && state.lastId === null) {
      this.streams.delete(stream);
    }
  }
}

/** The newest id the stream gave; null while it gave none here (a new stream, or since a restart). */
function positionOf(state: StreamState): string | null {
  return state.lastId ? formatId(state.lastId) : null;
}
