// Sharded subscriptions on the node's own sockets, one per cluster master, beside ioredis. Every
// live message of a clustered node comes through here, and ioredis's sharded subscribers cost a
// large share of a node's CPU in receiving them (its RESP3 decoder, two event relays per message;
// bench cross-node, BENCHMARKS.md); they also reconnect to a dead master in a tight loop during a
// failover. ioredis stays in charge of the slot table: a channel is subscribed on the master that
// table names, and whatever may have cost a subscription (a lost socket, a slot moving away, a
// MOVED reply) is reported to the broker, which subscribes again and reads the log.
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import type { BrokerLogger } from './redis-connections.js';
import { describe } from './retry.js';
import { openRedisSocket, type RedisSocket } from './redis-socket.js';
import { encodeCommand, RedisReplyError, type Reply } from './resp.js';

type Kind = 'ssubscribe' | 'sunsubscribe' | 'other';

interface Waiting {
  kind: Kind;
  channel: string;
  resolve(): void;
  reject(error: Error): void;
}

/** After a connection to a master failed, subscribing there fails at once for this long. */
const RETRY_AFTER_MS = 500;
/**
 * While a master refuses connections its slots are about to move to a replica, and nothing else
 * would tell this node when: the slot table is read again this often until they have moved, for
 * at most WATCH_FOR_MS (Redis's default cluster-node-timeout is 15 s; a master down with no
 * replica is the health probe's and the broker's retries' business).
 */
const WATCH_EVERY_MS = 500;
const WATCH_FOR_MS = 60_000;
/** A master that dropped a slot's channel is not subscribed to for that slot for this long (see subscribe()). */
const DROPPED_FOR_MS = 10_000;

interface SocketEvents {
  onMessage(channel: string, payload: string): void;
  /** The master dropped the channel by itself (its slot moved away or the master stepped down). */
  onDropped(shard: SubscriberSocket, channel: string): void;
  onMoved(): void;
  onClosed(shard: SubscriberSocket, error: Error | null): void;
}

/** One master's subscriber socket: the channels it confirmed, the confirmations it owes. */
class SubscriberSocket {
  private readonly link: RedisSocket;
  /** Commands not yet answered: a confirmation is matched by kind and channel, an error by the slot it names or by order. */
  private readonly waiting: Waiting[] = [];
  readonly channels = new Set<string>();
  private emptySince = Date.now();
  closed = false;

  constructor(
    readonly address: string,
    connectionName: string,
    private readonly events: SocketEvents,
  ) {
    this.link = openRedisSocket(address, {
      onReplies: (replies) => {
        for (const reply of replies) this.onReply(reply);
      },
      owesReply: () => this.waiting.length > 0,
      idleSince: () => (this.channels.size === 0 ? this.emptySince : null),
      onFailure: (error) => this.close(error),
      onIdle: () => this.close(null),
      // A subscriber socket only receives, so a master gone silent without closing it would
      // otherwise go unnoticed: a PING puts it under the reply deadline.
      onQuiet: () => void this.send('other', '', ['PING']).catch(() => undefined),
    });
    this.link.socket.setKeepAlive(true, 10_000);
    // Before any SSUBSCRIBE: a subscribed RESP2 connection takes no other command.
    void this.send('other', '', ['CLIENT', 'SETNAME', connectionName]).catch(() => undefined);
  }

  subscribe(channel: string): Promise<void> {
    return this.send('ssubscribe', channel, ['SSUBSCRIBE', channel]);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.send('sunsubscribe', channel, ['SUNSUBSCRIBE', channel]);
  }

  get connected(): boolean {
    return this.link.connected;
  }

  private send(kind: Kind, channel: string, args: string[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`connection to ${this.address} closed`));
    this.link.socket.write(encodeCommand(args));
    this.link.expectReply();
    return new Promise<void>((resolve, reject) => this.waiting.push({ kind, channel, resolve, reject }));
  }

  private onReply(reply: Reply): void {
    if (reply.kind === 'array') {
      const [type, channel, payload] = reply.items;
      if (type?.kind !== 'string' || channel?.kind !== 'string') throw new Error(`unexpected reply from ${this.address}`);
      if (type.value === 'smessage') {
        if (payload?.kind !== 'string') return;
        try {
          this.events.onMessage(channel.value, payload.value);
        } catch {
          // The broker guards its listeners; whatever escapes must not cost the rest of the chunk.
        }
        return;
      }
      if (type.value === 'pong') {
        // A subscribed RESP2 connection answers PING as an array.
        this.settle('other', '');
        return;
      }
      if (type.value === 'ssubscribe') {
        this.channels.add(channel.value);
        this.settle('ssubscribe', channel.value);
        return;
      }
      if (type.value === 'sunsubscribe') {
        this.channels.delete(channel.value);
        if (this.channels.size === 0) this.emptySince = Date.now();
        if (!this.settle('sunsubscribe', channel.value)) this.events.onDropped(this, channel.value);
        return;
      }
      throw new Error(`unexpected ${type.value} from ${this.address}`);
    }
    if (reply.kind !== 'error') {
      // CLIENT SETNAME's OK, or PONG before the first SSUBSCRIBE.
      this.settle('other', '');
      return;
    }
    // An error answers a command that got no confirmation. A MOVED names the slot, which tells
    // which: when a slot leaves this master between our SUNSUBSCRIBE and Redis running it, the
    // master's own sunsubscribe settled that command already, and the error must not be taken
    // for the answer to the next one. Other errors go to the oldest command; an error nothing
    // waits for is dropped (the broker reads the log after every subscribe anyway).
    const moved = /^(?:MOVED|ASK) (\d+) /.exec(reply.message);
    if (moved) this.events.onMoved();
    const slot = moved ? Number(moved[1]) : null;
    const index = this.waiting.findIndex((entry) => entry.kind !== 'other' && (slot === null || calculateSlot(entry.channel) === slot));
    if (index >= 0) this.waiting.splice(index, 1)[0]!.reject(new RedisReplyError(reply.message));
  }

  /** Resolves the oldest command waiting for this confirmation; false when none was. */
  private settle(kind: Kind, channel: string): boolean {
    const index = this.waiting.findIndex((entry) => entry.kind === kind && entry.channel === channel);
    if (index < 0) return false;
    this.waiting.splice(index, 1)[0]!.resolve();
    return true;
  }

  close(error: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    this.link.socket.destroy();
    const failure = error ?? new Error(`connection to ${this.address} closed`);
    for (const entry of this.waiting.splice(0)) entry.reject(failure);
    this.events.onClosed(this, error);
  }
}

export interface DirectSubscriberEvents {
  onMessage(channel: string, payload: string): void;
  /** Some subscription may be gone: subscribe every channel again and read what was missed. */
  onLost(reason: string): void;
}

export class DirectSubscriber {
  private readonly sockets = new Map<string, SubscriberSocket>();
  /** The socket each channel is subscribed (or being subscribed) on. */
  private readonly placed = new Map<string, SubscriberSocket>();
  /** When a connection to a master last failed: retries wait, as the broker's resync does. */
  private readonly failedAt = new Map<string, number>();
  /** Per slot, the master that last dropped a channel of it by itself, and when. */
  private readonly droppedBy = new Map<number, { address: string; at: number }>();
  /** Masters that refused a connection whose slots have not moved yet (see WATCH_EVERY_MS). */
  private readonly watched = new Map<string, NodeJS.Timeout>();
  private closed = false;
  private readonly socketEvents: SocketEvents;

  constructor(
    private readonly cluster: Cluster,
    private readonly connectionName: string,
    events: DirectSubscriberEvents,
    private readonly log: BrokerLogger,
  ) {
    this.socketEvents = {
      onMessage: events.onMessage,
      onDropped: (shard, channel) => {
        if (this.placed.get(channel) === shard) this.placed.delete(channel);
        this.droppedBy.set(calculateSlot(channel), { address: shard.address, at: Date.now() });
        // The slot left this master: ioredis's table must learn where it went before the
        // broker's next SSUBSCRIBE can land there.
        this.refreshSlots();
        events.onLost('a master dropped a channel');
      },
      onMoved: () => this.refreshSlots(),
      onClosed: (shard, error) => {
        if (this.sockets.get(shard.address) === shard) this.sockets.delete(shard.address);
        // Only confirmed channels are lost: the callers of unconfirmed ones had their subscribe
        // rejected and retry it themselves, so a master that keeps refusing connections does not
        // send every stream back through a resubscribe on each attempt.
        let lost = false;
        for (const [channel, placedOn] of this.placed) {
          if (placedOn !== shard) continue;
          this.placed.delete(channel);
          if (shard.channels.has(channel)) lost = true;
        }
        if (this.closed || !error) return;
        // A master that refused the connection is likely down; one that cut it may take us back at once.
        if (!shard.connected) {
          this.failedAt.set(shard.address, Date.now());
          this.watchUntilMoved(shard.address);
        }
        this.log.debug({ address: shard.address, err: describe(error) }, 'subscriber connection closed');
        // A master that went away may have failed over.
        this.refreshSlots();
        if (lost) events.onLost('a subscriber connection closed');
      },
    };
  }

  /**
   * Subscribes the channel on the master that owns its slot now, leaving any other master it was
   * on; resolves once that master confirmed it, so a log read after it misses nothing.
   */
  async subscribe(channel: string): Promise<void> {
    if (this.closed) throw new Error('the subscriber is closed');
    const slot = calculateSlot(channel);
    const address = this.cluster.slots[slot]?.[0];
    if (!address) throw new Error(`no master known for ${channel}`);
    const dropped = this.droppedBy.get(slot);
    if (dropped?.address === address && Date.now() - dropped.at < DROPPED_FOR_MS) {
      // That master gave the slot away, so a table still naming it is stale. Subscribing there
      // anyway is confirmed once it has turned replica, and then may never deliver a message
      // (seen right after CLUSTER FAILOVER, 4 trials in 6): wait for the table to move on. By
      // slot, not channel: a stream joining meanwhile would land on the same dead end.
      this.refreshSlots();
      throw new Error(`the slot table still names ${address}, which gave slot ${slot} away`);
    }
    if (dropped) this.droppedBy.delete(slot);
    let shard = this.sockets.get(address);
    if (!shard) {
      // Every stream resubscribes after a loss: one connection attempt per master serves them all.
      const failed = this.failedAt.get(address);
      if (failed !== undefined && Date.now() - failed < RETRY_AFTER_MS) throw new Error(`${address} failed moments ago`);
      shard = new SubscriberSocket(address, this.connectionName, this.socketEvents);
      this.sockets.set(address, shard);
    }
    const previous = this.placed.get(channel);
    this.placed.set(channel, shard);
    if (previous && previous !== shard) previous.unsubscribe(channel).catch(() => undefined);
    await shard.subscribe(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    const shard = this.placed.get(channel);
    if (!shard) return;
    this.placed.delete(channel);
    await shard.unsubscribe(channel);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.watched.values()) clearInterval(timer);
    this.watched.clear();
    for (const shard of this.sockets.values()) shard.close(null);
    this.sockets.clear();
    this.placed.clear();
    this.droppedBy.clear();
  }

  private refreshSlots(): void {
    if (!this.closed && this.cluster.status === 'ready') this.cluster.refreshSlotsCache();
  }

  /**
   * Reads the slot table every WATCH_EVERY_MS while `address` still owns slots in it. Once a
   * replica has taken them over, ioredis's 'refresh' shows new owners and the broker subscribes
   * there at once, instead of at its next retry (1-2 s apart by then) or the 5 s topology check.
   */
  private watchUntilMoved(address: string): void {
    if (this.closed || this.watched.has(address)) return;
    const started = Date.now();
    const timer = setInterval(() => {
      const owns = this.cluster.slots.some((owners) => owners?.[0] === address);
      if (this.closed || !owns || Date.now() - started > WATCH_FOR_MS) {
        clearInterval(timer);
        this.watched.delete(address);
        return;
      }
      this.refreshSlots();
    }, WATCH_EVERY_MS);
    timer.unref();
    this.watched.set(address, timer);
  }
}
