// The publish script's EVALSHA on one plain socket per cluster master, beside ioredis. Publishing is
// the hot path of a clustered node, and ioredis's per-command machinery (Command objects, slot
// lookup, the cluster's routing and retry layers, its RESP3 decoder) cost a fifth of the node's CPU
// per delivery (bench cross-node, BENCHMARKS.md). Everything that is not the plain case goes to
// ioredis, which stays in charge of topology, redirections and loading the script: this module only
// takes the slot table ioredis keeps, and hands a publish back whenever a reply says it did not run.
import { createHash } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import type { BrokerLogger } from './redis-connections.js';
import { describe } from './retry.js';
import { openRedisSocket, type RedisSocket } from './redis-socket.js';
import { encodeCommand, RedisReplyError, type Reply } from './resp.js';

/** Replies that mean the script did not run here: ioredis redirects, retries or loads it. */
const NOT_RUN = ['MOVED ', 'ASK ', 'NOSCRIPT ', 'TRYAGAIN ', 'CLUSTERDOWN '];

/** Thrown (internally) when ioredis must take the publish over. */
class HandBack extends Error {}

interface Pending {
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

/**
 * A "did not run" reply later than this is not handed to ioredis: normally it takes well under a
 * millisecond, and the broker gives up on a publish after 1.5 s (RedisBroker's operationTimeoutMs).
 */
const HAND_BACK_WITHIN_MS = 500;
/** After a connection to a master failed, its publishes go through ioredis for this long. */
const RETRY_AFTER_MS = 1000;

/** One master's socket: commands written in order, replies matched in order. */
class ShardSocket {
  private readonly link: RedisSocket;
  private readonly pending: Pending[] = [];
  private head = 0;
  private corked = false;
  private lastUsed = Date.now();
  closed = false;

  constructor(
    readonly address: string,
    connectionName: string,
    private readonly onClosed: (shard: ShardSocket, error: Error | null) => void,
  ) {
    this.link = openRedisSocket(address, {
      onReplies: (replies) => this.onReplies(replies),
      owesReply: () => this.head < this.pending.length,
      idleSince: () => this.lastUsed,
      onFailure: (error) => this.close(error),
      onIdle: () => this.close(null),
    });
    // Named like ioredis's connections, so CLIENT LIST tells which sockets are whose.
    void this.send(['CLIENT', 'SETNAME', connectionName]).catch(() => undefined);
  }

  get connected(): boolean {
    return this.link.connected;
  }

  send(args: readonly string[]): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error(`connection to ${this.address} closed`));
    this.lastUsed = Date.now();
    const { socket } = this.link;
    // Commands of one tick leave in one write: the pipelining ioredis would do, without its objects.
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    socket.write(encodeCommand(args));
    this.link.expectReply();
    return new Promise<Reply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
    });
  }

  private onReplies(replies: Reply[]): void {
    for (const reply of replies) {
      const waiting = this.pending[this.head];
      if (!waiting) throw new Error(`unexpected reply from ${this.address}`);
      this.pending[this.head++] = undefined as unknown as Pending;
      waiting.resolve(reply);
    }
    // Compacted now and then rather than shifted per reply.
    if (this.head === this.pending.length) {
      this.pending.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }

  close(error: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    this.link.socket.destroy();
    // A command already written may have run: it fails (the caller answers 503) and is never
    // sent again, the same rule as for ioredis's connections (redis-connections.ts).
    const failure = error ?? new Error(`connection to ${this.address} closed`);
    for (let i = this.head; i < this.pending.length; i++) this.pending[i]!.reject(failure);
    this.pending.length = 0;
    this.head = 0;
    this.onClosed(this, error);
  }
}

export interface PublishArgs {
  log: string;
  trimmed: string;
  channel: string;
  body: string;
  historySize: number;
  slack: number;
  maxAgeMs: number;
}

export class DirectPublisher {
  private readonly sha: string;
  private readonly shards = new Map<string, ShardSocket>();
  private readonly failedAt = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    script: string,
    private readonly connectionName: string,
    private readonly log: BrokerLogger,
  ) {
    this.sha = createHash('sha1').update(script).digest('hex');
  }

  /**
   * Runs the publish script on the master owning the stream and returns the new id. `viaIoredis`
   * takes over (and its result is returned) when there is no usable socket yet or the reply says
   * the script did not run, unless that reply came so late that the caller may have given up.
   */
  async publish(args: PublishArgs, viaIoredis: () => Promise<string>): Promise<string> {
    const shard = this.shardFor(args.log);
    if (!shard) return viaIoredis();
    const sentAt = Date.now();
    try {
      const reply = await shard.send([
        'EVALSHA',
        this.sha,
        '2',
        args.log,
        args.trimmed,
        args.channel,
        args.body,
        String(args.historySize),
        String(args.slack),
        String(args.maxAgeMs),
      ]);
      return toId(reply);
    } catch (error) {
      if (!(error instanceof HandBack)) throw error;
      // Handed on after the broker's deadline, the post could be stored after its poster was
      // told it failed, and stored twice if they post it again.
      const tookMs = Date.now() - sentAt;
      if (tookMs > HAND_BACK_WITHIN_MS) throw new Error(`${error.message} after ${tookMs} ms; not sent again`);
      return viaIoredis();
    }
  }

  close(): void {
    this.closed = true;
    for (const shard of this.shards.values()) shard.close(null);
    this.shards.clear();
  }

  /** The connected socket of the stream's master, opening one for next time when there is none. */
  private shardFor(key: string): ShardSocket | null {
    if (this.closed || this.cluster.status !== 'ready') return null;
    const address = this.cluster.slots[calculateSlot(key)]?.[0];
    if (!address) return null;
    const shard = this.shards.get(address);
    if (shard) return shard.connected ? shard : null;
    const failed = this.failedAt.get(address);
    if (failed !== undefined && Date.now() - failed < RETRY_AFTER_MS) return null;
    this.open(address);
    return null;
  }

  private open(address: string): void {
    const shard = new ShardSocket(address, this.connectionName, (closed, error) => {
      if (this.shards.get(address) === closed) this.shards.delete(address);
      if (error) {
        this.failedAt.set(address, Date.now());
        this.log.debug({ address, err: describe(error) }, 'direct publish connection closed');
      }
    });
    this.shards.set(address, shard);
  }
}

function toId(reply: Reply): string {
  if (reply.kind === 'string') return reply.value;
  if (reply.kind === 'error') {
    if (NOT_RUN.some((prefix) => reply.message.startsWith(prefix))) throw new HandBack(reply.message);
    throw new RedisReplyError(reply.message);
  }
  throw new RedisReplyError(`the publish script answered a ${reply.kind}`);
}
