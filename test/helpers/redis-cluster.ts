// Real Redis for tests: a 3-master/3-replica Redis Cluster, or one plain redis-server, from
// `redis-server` processes on free loopback ports, with helpers to break them (kill a master,
// pause or kill everything) and to tear them down. No mocks: only processes this module started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCommand, ReplyReader, type Reply as WireReply } from '../../server/broker/resp.js';
import { waitUntil } from './wait.js';

export { waitUntil };

export interface RedisAddress {
  host: string;
  port: number;
}

export interface FailoverResult {
  killed: RedisAddress;
  promoted: RedisAddress;
}

export interface RedisClusterHandle {
  /** Every node, masters and replicas (what REDIS_CLUSTER_NODES may list). */
  nodes: RedisAddress[];
  /** `host:port,host:port,...` for REDIS_CLUSTER_NODES. */
  envValue: string;
  /** Where configs, nodes.conf files and logs live (removed by stop()). */
  dir: string;
  /** The master serving the slot of `key`, read from the cluster itself. */
  masterFor(key: string): Promise<RedisAddress>;
  /**
   * SIGKILLs the master owning `key`'s slot once its replica has caught up, then waits until
   * the replica is promoted and every surviving node reports cluster_state:ok.
   */
  killMasterFor(key: string): Promise<FailoverResult>;
  /**
   * CLUSTER FAILOVER on the replica of the master owning `key`'s slot: the two swap roles with
   * every client connection left open (clients learn of it from MOVED replies). Waits until every
   * node sees the replica as the slot's owner.
   */
  manualFailoverFor(key: string): Promise<FailoverResult>;
  /**
   * Resharding: moves the slot of `key`, with its keys, from its master to another master
   * (IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE everywhere). Returns the new owner.
   */
  migrateSlotOf(key: string, options?: { whileMigrating?: () => Promise<void> }): Promise<RedisAddress>;
  /**
   * Starts a killed node again on its port with its nodes.conf; it rejoins (as a replica, once
   * failed over) and is waited for until its replication link is up.
   */
  restartNode(node: RedisAddress): Promise<void>;
  /** SIGKILLs every node (nodes.conf kept, data lost: no persistence). */
  killAll(): Promise<void>;
  /** Restarts every node killed by killAll() and waits for cluster_state:ok. */
  restartAll(): Promise<void>;
  /**
   * SIGSTOP/SIGCONT every node: sockets stay open but nothing answers. Keep a pause below the
   * cluster node timeout, or the nodes mark each other failed when they wake up.
   */
  pauseAll(): void;
  resumeAll(): void;
  /** Cluster node timeout the nodes run with (failover takes about this plus ~1 s). */
  nodeTimeoutMs: number;
  stop(): Promise<void>;
}

export interface RedisSingleHandle {
  host: string;
  port: number;
  /** For REDIS_URL. */
  url: string;
  pause(): void;
  resume(): void;
  /** SIGKILL (data lost: no persistence). */
  kill(): Promise<void>;
  /** Starts it again on the same port after kill(). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const NODE_TIMEOUT_MS = 1000;
const READY_TIMEOUT_MS = 10_000;
const FAILOVER_TIMEOUT_MS = 20_000;
/** Redis abandons a manual failover after 5 s (CLUSTER_MF_TIMEOUT); a little more, then it is asked again. */
const MANUAL_FAILOVER_ATTEMPT_MS = 6_000;

/** Every redis-server this process started and has not reaped, killed if the test run exits abruptly. */
const livePids = new Set<number>();
process.once('exit', () => {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Processes

interface ServerProcess {
  port: number;
  configPath: string;
  child: ChildProcess | null;
  exited: Promise<void>;
}

let checkedBinary = false;

/** Fails with a message that says what to do when redis-server is missing or too old. */
function requireRedisServer(): void {
  if (checkedBinary) return;
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'redis-server was not found on PATH; the Redis tests need a real Redis >= 7 ' +
        '(e.g. `apt-get install -y redis-server`, which .ci/run does when it is absent)',
    );
  }
  const version = /v=(\d+)\./.exec(probe.stdout);
  if (version && Number(version[1]) < 7) {
    throw new Error(`redis-server ${version[1]}.x is too old: sharded pub/sub needs Redis >= 7`);
  }
  if (spawnSync('redis-cli', ['--version']).error) {
    throw new Error('redis-cli was not found on PATH (it ships with redis-server, and creates the cluster)');
  }
  checkedBinary = true;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port below the ephemeral range (32768+) whose cluster bus port (+10000) is free as well, so
 * neither collides with outgoing connections. Another process may still take it before
 * redis-server binds; startServer() retries on a new port when that happens.
 */
async function freePort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 11000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await canBind(port)) && (await canBind(port + 10000))) {
      taken.add(port);
      taken.add(port + 10000);
      return port;
    }
  }
  throw new Error('no free loopback port pair found in 20000-31000');
}

function launch(port: number, configPath: string, logPath: string): ServerProcess {
  const child = spawn('redis-server', [configPath, '--logfile', logPath], { stdio: 'ignore' });
  if (child.pid !== undefined) livePids.add(child.pid);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      if (child.pid !== undefined) livePids.delete(child.pid);
      resolve();
    });
    child.once('error', () => resolve());
  });
  return { port, configPath, child, exited };
}

function isRunning(server: ServerProcess): boolean {
  return server.child !== null && server.child.exitCode === null && server.child.signalCode === null;
}

async function killServer(server: ServerProcess): Promise<void> {
  if (server.child && isRunning(server)) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  server.child = null;
}

function signalServer(server: ServerProcess, signal: 'SIGSTOP' | 'SIGCONT'): void {
  if (server.child && isRunning(server)) server.child.kill(signal);
}

/** Waits until the server answers PING, or fails if the process exits (port taken, bad config). */
async function waitForPing(server: ServerProcess, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  await waitUntil(
    async () => {
      if (exited) throw new Error(`redis-server on port ${server.port} exited during start-up`);
      return (await tryCommand(server.port, ['PING'])) === 'PONG';
    },
    timeoutMs,
    `redis-server on port ${server.port} to answer PING`,
  );
}

interface ConfigOptions {
  port: number;
  dir: string;
  cluster: boolean;
}

function configText({ port, dir, cluster }: ConfigOptions): string {
  const lines = [
    `port ${port}`,
    `bind ${HOST}`,
    'protected-mode no',
    `dir ${dir}`,
    `pidfile ${join(dir, `redis-${port}.pid`)}`,
    'daemonize no',
    'save ""',
    'appendonly no',
    'loglevel notice',
  ];
  if (cluster) {
    lines.push(
      'cluster-enabled yes',
      `cluster-config-file nodes-${port}.conf`,
      `cluster-node-timeout ${NODE_TIMEOUT_MS}`,
      // Promote the replica whatever its replication lag: the tests kill masters on purpose.
      'cluster-replica-validity-factor 0',
      // Replicas sync at once instead of waiting 5 s for more replicas to join the transfer.
      'repl-diskless-sync-delay 0',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Writes a config, starts redis-server and waits for PING; retries on another port if the port was taken. */
async function startServer(dir: string, cluster: boolean, taken: Set<number>): Promise<ServerProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort(taken);
    const configPath = join(dir, `redis-${port}.conf`);
    await writeFile(configPath, configText({ port, dir, cluster }));
    const server = launch(port, configPath, join(dir, `redis-${port}.log`));
    try {
      await waitForPing(server);
      return server;
    } catch (error) {
      lastError = error;
      await killServer(server);
    }
  }
  throw new Error(`could not start redis-server: ${String(lastError)}`);
}

async function restartServer(server: ServerProcess, dir: string): Promise<void> {
  if (isRunning(server)) return;
  const restarted = launch(server.port, server.configPath, join(dir, `redis-${server.port}.log`));
  server.child = restarted.child;
  server.exited = restarted.exited;
  await waitForPing(server);
}

// ---------------------------------------------------------------------------------------------
// One command per connection, on the product's own RESP2 codec: enough for PING, INFO, CLUSTER
// INFO/NODES/KEYSLOT and PUBSUB while polling, without a client library's reconnect and queueing
// behaviour getting in the way.

export type Reply = string | number | null | Reply[];

/** A reply as plain values; an error reply, even nested, becomes a thrown Error. */
function plain(reply: WireReply): Reply {
  switch (reply.kind) {
    case 'string':
    case 'integer':
      return reply.value;
    case 'null':
      return null;
    case 'array':
      return reply.items.map(plain);
    case 'error':
      throw new Error(reply.message);
  }
}

/** Sends one command on a fresh connection; rejects on error reply, refusal or timeout. */
export function command(port: number, args: string[], timeoutMs = 1000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const reader = new ReplyReader();
    const finish = (error: Error | null, reply?: Reply) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply ?? null);
    };
    const timer = setTimeout(() => finish(new Error(`timeout: ${args.join(' ')} on ${port}`)), timeoutMs);
    socket.once('error', (error) => finish(error));
    socket.on('data', (chunk: Buffer) => {
      try {
        const [reply] = reader.push(chunk);
        if (reply) finish(null, plain(reply));
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.connect(port, HOST, () => socket.write(encodeCommand(args)));
  });
}

async function tryCommand(port: number, args: string[]): Promise<Reply | undefined> {
  try {
    return await command(port, args, 500);
  } catch {
    return undefined;
  }
}

function infoField(info: Reply | undefined, field: string): string | undefined {
  if (typeof info !== 'string') return undefined;
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}

/** From a replica's INFO replication: linked to its master and past its first sync. */
function replicaInSync(info: Reply | undefined): boolean {
  return infoField(info, 'master_link_status') === 'up' && infoField(info, 'master_sync_in_progress') === '0';
}

// ---------------------------------------------------------------------------------------------
// Cluster topology, from CLUSTER NODES as one node sees it.

interface NodeLine {
  id: string;
  port: number;
  master: boolean;
  failed: boolean;
  masterId: string | null;
  slots: [number, number][];
}

function parseClusterNodes(text: string): NodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...slotFields] = line.split(' ');
      const port = Number(/:(\d+)@/.exec(address ?? '')?.[1]);
      const flagList = (flags ?? '').split(',');
      const slots: [number, number][] = [];
      for (const field of slotFields) {
        if (field.startsWith('[')) continue; // a slot being migrated or imported
        const [from, to] = field.split('-');
        slots.push([Number(from), Number(to ?? from)]);
      }
      return {
        id: id ?? '',
        port,
        master: flagList.includes('master'),
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        masterId: masterId && masterId !== '-' ? masterId : null,
        slots,
      };
    });
}

function ownerOfSlot(lines: NodeLine[], slot: number): NodeLine | undefined {
  return lines.find((line) => line.master && !line.failed && line.slots.some(([from, to]) => slot >= from && slot <= to));
}

// ---------------------------------------------------------------------------------------------

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  requireRedisServer();
  const dir = await mkdtemp(join(tmpdir(), 'sse-chat-redis-cluster-'));
  const taken = new Set<number>();
  const servers: ServerProcess[] = [];
  try {
    servers.push(...(await Promise.all(Array.from({ length: 6 }, () => startServer(dir, true, taken)))));
    await createCluster(servers.map((server) => server.port));
    await waitForClusterOk(servers);
  } catch (error) {
    await Promise.all(servers.map(killServer));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const byPort = new Map(servers.map((server) => [server.port, server]));
  const running = () => servers.filter(isRunning);
  const nodes = servers.map((server) => ({ host: HOST, port: server.port }));

  async function topology(): Promise<NodeLine[]> {
    for (const server of running()) {
      const text = await tryCommand(server.port, ['CLUSTER', 'NODES']);
      if (typeof text === 'string') return parseClusterNodes(text);
    }
    throw new Error('no cluster node answers CLUSTER NODES');
  }

  async function slotOf(key: string): Promise<number> {
    const server = running()[0];
    if (!server) throw new Error('no cluster node is running');
    return Number(await command(server.port, ['CLUSTER', 'KEYSLOT', key]));
  }

  async function masterFor(key: string): Promise<RedisAddress> {
    const owner = ownerOfSlot(await topology(), await slotOf(key));
    if (!owner) throw new Error(`no live master serves the slot of ${key}`);
    return { host: HOST, port: owner.port };
  }

  /**
   * The master serving `slot` and one live replica of it. Asked until one node's view has both:
   * right after a start or a restart, the node asked may not have heard of the replica yet.
   */
  async function masterAndReplica(slot: number): Promise<{ master: NodeLine; replica: NodeLine }> {
    let found: { master: NodeLine; replica: NodeLine } | null = null;
    await waitUntil(
      async () => {
        const lines = await topology();
        const master = ownerOfSlot(lines, slot);
        const replica = lines.find((line) => line.masterId === master?.id && !line.failed);
        if (master && replica) found = { master, replica };
        return found !== null;
      },
      READY_TIMEOUT_MS,
      `a master with a live replica serving slot ${slot}`,
    );
    return found!;
  }

  /** Does every running node name `port` as the owner of `slot`? */
  async function everyNodeSeesOwner(slot: number, port: number): Promise<boolean> {
    for (const live of running()) {
      const text = await tryCommand(live.port, ['CLUSTER', 'NODES']);
      if (typeof text !== 'string' || ownerOfSlot(parseClusterNodes(text), slot)?.port !== port) return false;
    }
    return true;
  }

  async function killMasterFor(key: string): Promise<FailoverResult> {
    const slot = await slotOf(key);
    const { master, replica } = await masterAndReplica(slot);
    const server = byPort.get(master.port);
    if (!server) throw new Error(`master ${master.port} of slot ${slot} is not a node of this cluster`);
    // Kill only once the replica has every acknowledged write, so the test measures the broker,
    // not Redis's asynchronous replication (which may lose the last writes of a dying master).
    // Writes are paused first: under steady traffic the offsets would never be seen equal.
    await command(master.port, ['CLIENT', 'PAUSE', String(FAILOVER_TIMEOUT_MS), 'WRITE']);
    await waitUntil(
      async () => {
        const masterOffset = infoField(await tryCommand(master.port, ['INFO', 'replication']), 'master_repl_offset');
        const replicaOffset = infoField(await tryCommand(replica.port, ['INFO', 'replication']), 'slave_repl_offset');
        return masterOffset !== undefined && masterOffset === replicaOffset;
      },
      READY_TIMEOUT_MS,
      `replica ${replica.port} to catch up with master ${master.port}`,
    );
    await killServer(server);
    await waitUntil(
      async () => {
        const role = infoField(await tryCommand(replica.port, ['INFO', 'replication']), 'role');
        if (role !== 'master') return false;
        for (const live of running()) {
          const info = await tryCommand(live.port, ['CLUSTER', 'INFO']);
          if (infoField(info, 'cluster_state') !== 'ok') return false;
        }
        return everyNodeSeesOwner(slot, replica.port);
      },
      FAILOVER_TIMEOUT_MS,
      `replica ${replica.port} to take over slot ${slot} from ${master.port}`,
    );
    return { killed: { host: HOST, port: master.port }, promoted: { host: HOST, port: replica.port } };
  }

  async function manualFailoverFor(key: string): Promise<FailoverResult> {
    const slot = await slotOf(key);
    const { master, replica } = await masterAndReplica(slot);
    // A replica whose link is still coming up (a master demoted by an earlier failover resyncs
    // first) accepts CLUSTER FAILOVER and then lets it time out.
    await waitUntil(
      async () => replicaInSync(await tryCommand(replica.port, ['INFO', 'replication'])),
      READY_TIMEOUT_MS,
      `replica ${replica.port} of slot ${slot} to be in sync with its master`,
    );
    // The default (coordinated) manual failover waits for the replica to catch up: nothing lost.
    // Redis abandons one not completed within 5 s; under load one did not complete in 20 s (in 2
    // of 6 runs of the fault file with a CPU hog on each core), so it is asked again.
    const deadline = Date.now() + FAILOVER_TIMEOUT_MS;
    for (;;) {
      await command(replica.port, ['CLUSTER', 'FAILOVER']);
      const timeoutMs = Math.min(MANUAL_FAILOVER_ATTEMPT_MS, deadline - Date.now());
      const done = await waitUntil(() => everyNodeSeesOwner(slot, replica.port), timeoutMs, 'takeover').then(
        () => true,
        () => false,
      );
      if (done) break;
      if (Date.now() >= deadline) throw new Error(`replica ${replica.port} did not take over slot ${slot} from ${master.port} by CLUSTER FAILOVER within ${FAILOVER_TIMEOUT_MS} ms`);
    }
    return { killed: { host: HOST, port: master.port }, promoted: { host: HOST, port: replica.port } };
  }

  async function migrateSlotOf(key: string, options: { whileMigrating?: () => Promise<void> } = {}): Promise<RedisAddress> {
    const slot = await slotOf(key);
    const lines = await topology();
    const source = ownerOfSlot(lines, slot);
    // Masters that serve slots: right after a failover a demoted master may still be listed as one.
    const masters = lines.filter((line) => line.master && !line.failed && line.slots.length > 0);
    const target = masters.find((line) => line.id !== source?.id);
    if (!source || !target) throw new Error(`no second master to move slot ${slot} to`);
    await command(target.port, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', source.id]);
    await command(source.port, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id]);
    // Marked on both sides, its keys all still on the source: a large slot spends a while so.
    await options.whileMigrating?.();
    for (;;) {
      const keys = await command(source.port, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '100']);
      if (!Array.isArray(keys) || keys.length === 0) break;
      await command(source.port, ['MIGRATE', HOST, String(target.port), '', '0', '5000', 'KEYS', ...keys.map(String)], 6000);
    }
    // The new owner first, then the old one, then the rest: the order redis-cli uses.
    for (const line of [target, source, ...masters.filter((m) => m.id !== source.id && m.id !== target.id)]) {
      await command(line.port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', target.id]);
    }
    await waitUntil(
      () => everyNodeSeesOwner(slot, target.port),
      FAILOVER_TIMEOUT_MS,
      `every node to see slot ${slot} on ${target.port}`,
    );
    return { host: HOST, port: target.port };
  }

  async function restartNode(node: RedisAddress): Promise<void> {
    const server = byPort.get(node.port);
    if (!server) throw new Error(`port ${node.port} is not a node of this cluster`);
    await restartServer(server, dir);
    await waitForClusterOk(servers);
    // A master that was failed over rejoins as a replica: ready once its link to the new master is
    // up (synced), so a later CLUSTER FAILOVER or kill finds a replica that has every write.
    await waitUntil(
      async () => {
        const info = await tryCommand(node.port, ['INFO', 'replication']);
        const role = infoField(info, 'role');
        return role === 'master' || (role === 'slave' && infoField(info, 'master_link_status') === 'up');
      },
      FAILOVER_TIMEOUT_MS,
      `node ${node.port} to be a master or a replica in sync`,
    );
  }

  async function killAll(): Promise<void> {
    await Promise.all(servers.map(killServer));
  }

  async function restartAll(): Promise<void> {
    await Promise.all(servers.map((server) => restartServer(server, dir)));
    await waitForClusterOk(servers);
  }

  async function stop(): Promise<void> {
    await Promise.all(servers.map(killServer));
    await rm(dir, { recursive: true, force: true });
  }

  return {
    nodes,
    envValue: nodes.map((node) => `${node.host}:${node.port}`).join(','),
    dir,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
    masterFor,
    killMasterFor,
    manualFailoverFor,
    migrateSlotOf,
    restartNode,
    killAll,
    restartAll,
    pauseAll: () => servers.forEach((server) => signalServer(server, 'SIGSTOP')),
    resumeAll: () => servers.forEach((server) => signalServer(server, 'SIGCONT')),
    stop,
  };
}

function createCluster(ports: number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-replicas', '1', '--cluster-yes'];
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 && output.includes('[OK] All 16384 slots covered')) resolve();
      else reject(new Error(`redis-cli --cluster create failed (exit ${code}):\n${output}`));
    });
  });
}

/** Every running node reports cluster_state:ok, knows every other node, and replicas are in sync. */
async function waitForClusterOk(servers: ServerProcess[]): Promise<void> {
  await waitUntil(
    async () => {
      const live = servers.filter(isRunning);
      for (const server of live) {
        const info = await tryCommand(server.port, ['CLUSTER', 'INFO']);
        if (infoField(info, 'cluster_state') !== 'ok') return false;
        if (Number(infoField(info, 'cluster_known_nodes')) < servers.length) return false;
        const text = await tryCommand(server.port, ['CLUSTER', 'NODES']);
        if (typeof text !== 'string') return false;
        const lines = parseClusterNodes(text);
        const liveFailed = lines.some((line) => line.failed && live.some((other) => other.port === line.port));
        if (liveFailed) return false;
        // A replica still in its first sync would be promoted empty by a failover test.
        const replication = await tryCommand(server.port, ['INFO', 'replication']);
        if (infoField(replication, 'role') === 'slave') {
          if (!replicaInSync(replication)) return false;
        }
      }
      return true;
    },
    FAILOVER_TIMEOUT_MS,
    'cluster_state:ok on every node',
  );
}

export async function startRedisSingle(): Promise<RedisSingleHandle> {
  requireRedisServer();
  const dir = await mkdtemp(join(tmpdir(), 'sse-chat-redis-'));
  let server: ServerProcess;
  try {
    server = await startServer(dir, false, new Set());
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    host: HOST,
    port: server.port,
    url: `redis://${HOST}:${server.port}`,
    pause: () => signalServer(server, 'SIGSTOP'),
    resume: () => signalServer(server, 'SIGCONT'),
    kill: () => killServer(server),
    restart: () => restartServer(server, dir),
    stop: async () => {
      await killServer(server);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
