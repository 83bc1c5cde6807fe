// The Redis connections behind RedisBroker, for a cluster or a single Redis: ioredis options that
// fail fast instead of queueing, sharded subscriptions confirmed by the server, health probes, and
// the events that tell the broker its subscriptions may be gone.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { DirectPublisher } from './direct-publisher.js';
import { DirectSubscriber } from './direct-subscriber.js';
import { backoffMs, describe, withTimeout } from './retry.js';
import type { RawEntry } from './redis-wire.js';
import { HISTORY_LUA } from './scripts/history.js';
import { PUBLISH_LUA } from './scripts/publish.js';
import { RECENT_LUA } from './scripts/recent.js';

/** The subset of pino the broker logs through; a pino logger fits as it is. */
export interface BrokerLogger {
  debug(details: Record<string, unknown>, message: string): void;
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export interface ScriptCommands {
  ssePublish(log: string, trimmed: string, channel: string, body: string, historySize: number, slack: number, maxAgeMs: number): Promise<string>;
  sseHistory(log: string, trimmed: string, afterId: string, limit: number, maxAgeMs: number, afterIsDelivered: '1' | ''): Promise<[string, RawEntry[], string, string]>;
  sseRecent(log: string, limit: number, maxAgeMs: number): Promise<[RawEntry[], string]>;
}

/** What differs between a cluster and a single Redis; everything else is shared. */
export interface Connections {
  commands: Cluster | Redis;
  scripts: ScriptCommands;
  /** Resolves once the server confirmed the subscription, so a log read after it misses nothing. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** Subscribes again after a reconnect; resolves once the server confirmed it. */
  resubscribe(channel: string): Promise<void>;
  /** Throws unless every shard answers. */
  probe(): Promise<void>;
  connect(): void;
  close(): Promise<void>;
}

export interface ConnectionEvents {
  onMessage(channel: string, payload: string): void;
  /** A subscriber connection was (re)made or the topology changed: subscriptions may be gone. */
  onResubscribeNeeded(reason: string): void;
  onDown(reason: string): void;
  log: BrokerLogger;
}

/** EVALSHA through defineCommand, so scripts join ioredis auto-pipelining and reload on NOSCRIPT. */
function defineScripts(client: Cluster | Redis): ScriptCommands {
  client.defineCommand('ssePublish', { numberOfKeys: 2, lua: PUBLISH_LUA });
  client.defineCommand('sseHistory', { numberOfKeys: 2, lua: HISTORY_LUA });
  client.defineCommand('sseRecent', { numberOfKeys: 1, lua: RECENT_LUA });
  return client as unknown as ScriptCommands;
}

/** Options both kinds share: fail fast instead of queueing, and never replay a publish by itself. */
export function redisOptions(nodeId: string, commandTimeoutMs: number): RedisOptions {
  return {
    connectionName: `sse-chat:${nodeId}`.slice(0, 60),
    lazyConnect: true,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    // A socket that stops answering (paused or black-holed server) is destroyed and reconnected
    // instead of holding commands until TCP gives up.
    socketTimeout: 3000,
    // A command cut off by a dropped connection fails now, and is not sent again after
    // reconnecting: a replayed publish could be stored after the caller was told it failed.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  };
}

export function clusterConnections(
  nodes: { host: string; port: number }[],
  nodeId: string,
  commandTimeoutMs: number,
  events: ConnectionEvents,
  /** How often watchTopology() runs; 0 turns it off (tests of the event-driven paths alone). */
  topologyCheckMs = TOPOLOGY_CHECK_MS,
): Connections {
  const { log } = events;
  const options: ClusterOptions = {
    lazyConnect: true,
    // Sharded subscriptions are DirectSubscriber's (one socket per master), not ioredis's.
    shardedSubscribers: false,
    // No auto-pipelining: at the usual rates each tick has one command, and the pipeline ioredis
    // builds for it (a Commander with every script copied on) cost more than the write it saves.
    // Measured (npm run bench): publish-redis 15,900 POST/s without vs 14,900 with, and less
    // garbage per post in cross-node.
    enableAutoPipelining: false,
    // Commands fail at once while the cluster is not connected (no unbounded offline queue).
    enableOfflineQueue: false,
    // ioredis's own periodic refresh rebuilds the 16,384-slot table and JSON-compares two copies
    // of it for the sharded subscribers on every tick, changed or not: ~30 ms of CPU and a few MB
    // of garbage per node each time, which stalled delivery (bench cross-node, POST-to-other-node
    // p99 66-104 ms at 2 s, 41-89 ms at 10 s). watchTopology() below asks for the slot ranges
    // instead and has ioredis refresh only when they moved.
    slotsRefreshInterval: 0,
    slotsRefreshTimeout: 1000,
    // "Connection is closed" may come from a command that ran before the connection dropped;
    // retrying it could store a message twice. CLUSTERDOWN/TRYAGAIN/MOVED mean not executed,
    // so those are retried (bounded by maxRedirections).
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    maxRedirections: 12,
    clusterRetryStrategy: (attempt) => backoffMs(attempt),
    redisOptions: redisOptions(nodeId, commandTimeoutMs),
  };
  const cluster = new Cluster(nodes, options);
  const viaIoredis = defineScripts(cluster);
  const direct = new DirectPublisher(cluster, PUBLISH_LUA, `sse-chat:${nodeId}:publish`.slice(0, 60), log);
  const scripts: ScriptCommands = {
    ssePublish: (logKey, trimmed, channel, body, historySize, slack, maxAgeMs) =>
      direct.publish({ log: logKey, trimmed, channel, body, historySize, slack, maxAgeMs }, () =>
        viaIoredis.ssePublish(logKey, trimmed, channel, body, historySize, slack, maxAgeMs),
      ),
    sseHistory: (...args) => viaIoredis.sseHistory(...args),
    sseRecent: (...args) => viaIoredis.sseRecent(...args),
  };
  const subscriber = new DirectSubscriber(
    cluster,
    `sse-chat:${nodeId}:subscribe`.slice(0, 60),
    { onMessage: events.onMessage, onLost: events.onResubscribeNeeded },
    log,
  );
  let topologyTimer: NodeJS.Timeout | null = null;
  // Without an 'error' listener a failed connection would crash the process.
  cluster.on('error', (error: unknown) => log.debug({ err: describe(error) }, 'redis cluster error'));
  cluster.on('node error', (error: unknown, node: string) => log.debug({ err: describe(error), node }, 'redis node error'));
  // 'refresh' (a new slot table was read) follows anything that hinted at a topology change: a
  // channel whose slot moved is subscribed again where the new table says. ioredis refreshes
  // (and says so) whether anything changed or not, often while a master is down; only a table
  // whose owners changed resubscribes. A lost subscription tells the broker by itself
  // (DirectSubscriber), and a resubscribe that lands on a stale owner gets MOVED, which
  // refreshes again until it lands.
  let owners = slotOwners(cluster);
  cluster.on('ready', () => {
    owners = slotOwners(cluster);
    events.onResubscribeNeeded('ready');
  });
  cluster.on('refresh', () => {
    const now = slotOwners(cluster);
    if (now === owners) return;
    owners = now;
    events.onResubscribeNeeded('slots moved');
  });
  for (const event of ['close', 'reconnecting', 'end']) {
    cluster.on(event, () => events.onDown(`cluster ${event}`));
  }

  return {
    commands: cluster,
    scripts,
    subscribe: (channel) => subscriber.subscribe(channel),
    unsubscribe: (channel) => subscriber.unsubscribe(channel),
    resubscribe: (channel) => subscriber.subscribe(channel),
    async probe() {
      if (cluster.status !== 'ready') throw new Error(`cluster is ${cluster.status}`);
      // Every master that owns slots must answer: one dead shard means some streams are down.
      const owners = new Set<string>();
      for (const slot of cluster.slots) if (slot?.[0]) owners.add(slot[0]);
      if (owners.size === 0) throw new Error('no slot information yet');
      const masters = new Map(cluster.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]));
      try {
        await Promise.all(
          [...owners].map(async (owner) => {
            const node = masters.get(owner);
            if (!node) throw new Error(`no connection to master ${owner}`);
            await node.ping();
          }),
        );
      } catch (error) {
        // ioredis drops a dead master's connection and only brings it back with a slot table
        // read after the master is up again; nothing else asks for one when every node was down
        // (its cluster stays 'ready' as long as a replica's idle connection is left in its pool).
        cluster.refreshSlotsCache();
        throw error;
      }
    },
    connect() {
      cluster.connect().catch((error: unknown) => log.debug({ err: describe(error) }, 'cluster connect failed, retrying'));
      if (topologyCheckMs > 0) {
        topologyTimer ??= setInterval(() => void watchTopology(cluster, log), topologyCheckMs);
        topologyTimer.unref();
      }
    },
    async close() {
      if (topologyTimer) clearInterval(topologyTimer);
      topologyTimer = null;
      direct.close();
      subscriber.close();
      await withTimeout(cluster.quit(), 1000, 'quit timed out').catch(() => undefined);
      cluster.disconnect();
    },
  };
}

/** The slot table as `first slot:owner` at each change of owner: equal strings, equal tables. */
function slotOwners(cluster: Cluster): string {
  let text = '';
  let previous: string | undefined;
  for (let slot = 0; slot < 16384; slot++) {
    const owner = cluster.slots[slot]?.[0];
    if (owner === previous) continue;
    previous = owner;
    text += `${slot}:${owner ?? '-'};`;
  }
  return text;
}

/** How often the slot ranges are compared with what ioredis routes by, by default. */
export const TOPOLOGY_CHECK_MS = 5000;

/**
 * Failovers and resharding are noticed at once through lost connections, MOVED replies and the
 * sunsubscribe Redis sends when a slot leaves a node (test/integration/redis-faults.test.ts covers
 * a kill, a manual failover and a slot migration, none of which needs this). This is the safety
 * net for a change none of those reveals: one CLUSTER SLOTS, compared range by range.
 */
async function watchTopology(cluster: Cluster, log: BrokerLogger): Promise<void> {
  if (cluster.status !== 'ready') return;
  const masters = cluster.nodes('master');
  const node = masters[Math.floor(Math.random() * masters.length)];
  if (!node) return;
  try {
    const ranges = (await node.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
    const moved = ranges.some(([start, end, [host, port]]) => {
      // ioredis skips a master announced with no host; so does this comparison.
      if (!host) return false;
      const owner = `${host}:${port}`;
      // Every slot, not only a range's ends: a slot in the middle may have moved on its own.
      for (let slot = start; slot <= end; slot++) if (cluster.slots[slot]?.[0] !== owner) return true;
      return false;
    });
    if (moved) {
      log.info({}, 'redis cluster slots moved, refreshing the slot table');
      cluster.refreshSlotsCache();
    }
  } catch (error) {
    // The node is gone or busy: its connection's own errors lead ioredis to refresh.
    log.debug({ err: describe(error) }, 'cluster topology check failed');
  }
}

export function singleConnections(url: string, nodeId: string, commandTimeoutMs: number, events: ConnectionEvents): Connections {
  const { log } = events;
  const retryStrategy = (attempt: number) => backoffMs(attempt);
  const commands = new Redis(url, {
    ...redisOptions(nodeId, commandTimeoutMs),
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    retryStrategy,
  });
  // Sharded pub/sub works on a plain Redis 7 too; the subscriber needs its own connection.
  const subscriber = new Redis(url, {
    ...redisOptions(`${nodeId}-sub`, commandTimeoutMs),
    enableOfflineQueue: false,
    // Resubscribing is done by the broker, which must know when it is confirmed.
    autoResubscribe: false,
    retryStrategy,
  });
  subscriber.on('smessage', (channel: string, payload: string) => events.onMessage(channel, payload));
  subscriber.on('ready', () => events.onResubscribeNeeded('subscriber ready'));
  for (const connection of [commands, subscriber]) {
    connection.on('error', (error: unknown) => log.debug({ err: describe(error) }, 'redis connection error'));
    connection.on('close', () => events.onDown('connection closed'));
  }

  return {
    commands,
    scripts: defineScripts(commands),
    async subscribe(channel) {
      await subscriber.ssubscribe(channel);
    },
    async unsubscribe(channel) {
      await subscriber.sunsubscribe(channel);
    },
    async resubscribe(channel) {
      await subscriber.ssubscribe(channel);
    },
    async probe() {
      if (subscriber.status !== 'ready') throw new Error(`subscriber connection is ${subscriber.status}`);
      await commands.ping();
    },
    connect() {
      for (const connection of [commands, subscriber]) {
        connection.connect().catch((error: unknown) => log.debug({ err: describe(error) }, 'redis connect failed, retrying'));
      }
    },
    async close() {
      await Promise.all(
        [commands, subscriber].map(async (connection) => {
          await withTimeout(connection.quit(), 1000, 'quit timed out').catch(() => undefined);
          connection.disconnect();
        }),
      );
    },
  };
}
