// Several sse-chat processes in different regions over one real Redis Cluster behave as one
// service: cross-node delivery, one order for everyone, resume anywhere, node and Redis faults.
import assert from 'node:assert/strict';
import { spawnNode, type NodeProcess } from '../helpers/node.js';
import { streamKeys } from '../../server/broker/redis.js';
import { command, startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { openSse, type SseReader } from '../helpers/sse-reader.js';
import { waitUntil } from '../helpers/wait.js';

async function post(node: NodeProcess, stream: string, text: string, author = 'tester'): Promise<{ status: number; id?: string; code?: string }> {
  const response = await fetch(`${node.url}/streams/${stream}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ author, text }),
  });
  const body = (await response.json()) as { id?: string; error?: { code: string } };
  return { status: response.status, id: body.id, code: body.error?.code };
}

async function postOk(node: NodeProcess, stream: string, text: string): Promise<string> {
  const result = await post(node, stream, text);
  assert.equal(result.status, 201, `post to ${node.url}: ${JSON.stringify(result)}`);
  return result.id!;
}

const ids = (reader: SseReader) => reader.events.filter((event) => !event.event).map((event) => event.id!);

function assertStrictlyIncreasing(list: string[], what: string): void {
  for (let index = 1; index < list.length; index++) {
    const [am, as] = list[index - 1]!.split('-').map(Number);
    const [bm, bs] = list[index]!.split('-').map(Number);
    assert.ok(am! < bm! || (am === bm && as! < bs!), `${what}: ${list[index - 1]} then ${list[index]} at ${index}`);
  }
}

const ready = async (node: NodeProcess) => (await fetch(`${node.url}/readyz`)).status === 200;

describe('many nodes over a Redis Cluster', function () {
  this.timeout(60_000);
  let cluster: RedisClusterHandle;
  const nodes: NodeProcess[] = [];
  const readers: SseReader[] = [];
  const open = async (node: NodeProcess, path: string, headers?: Record<string, string>) => {
    const reader = await openSse(node.url + path, headers);
    assert.equal(reader.status, 200);
    readers.push(reader);
    return reader;
  };
  const startNodes = async (count: number) => {
    const started = await Promise.all(
      Array.from({ length: count }, (_, index) =>
        spawnNode({
          REDIS_CLUSTER_NODES: cluster.envValue,
          NODE_ID: `node-${nodes.length + index + 1}`,
          REGION: ['eu-west', 'us-east', 'ap-south'][index % 3]!,
          UNSUBSCRIBE_LINGER_MS: '0',
        }),
      ),
    );
    await Promise.all(started.map((node) => waitUntil(() => ready(node), 20_000, `${node.url} ready`)));
    nodes.push(...started);
    return started;
  };

  before(async function () {
    this.timeout(60_000);
    cluster = await startRedisCluster();
    await startNodes(3);
  });
  afterEach(() => {
    for (const reader of readers.splice(0)) reader.close();
  });
  after(async function () {
    this.timeout(60_000);
    await Promise.all(nodes.map((node) => node.stop(3000)));
    await cluster?.stop();
  });

  it('delivers a message posted on one node to viewers on the others, with node and region', async () => {
    const [a, b, c] = nodes;
    const onA = await open(a!, '/streams/cross/events');
    const onC = await open(c!, '/streams/cross/events?format=html');
    const id = await postOk(b!, 'cross', 'from b');
    const [event] = await onA.messages(1);
    assert.equal(event!.id, id);
    const message = JSON.parse(event!.data);
    assert.deepEqual([message.text, message.node, message.region], ['from b', 'node-2', 'us-east']);
    assert.equal((await onC.messages(1))[0]!.id, id);
  });

  it('3 nodes x 20 concurrent publishers x 50 messages: every viewer sees all 3000 in one order', async () => {
    const [a, b, c] = nodes;
    const viewers = await Promise.all([a, a, b, b, c, c].map((node) => open(node!, '/streams/storm/events')));
    const acknowledged: string[] = [];
    // 20 publishers on each of the 3 nodes, 50 messages each.
    await Promise.all(
      Array.from({ length: 60 }, async (_, publisher) => {
        const node = nodes[publisher % 3]!;
        for (let index = 0; index < 50; index++) acknowledged.push(await postOk(node, 'storm', `p${publisher}-${index}`));
      }),
    );
    assert.equal(acknowledged.length, 3000);
    await Promise.all(viewers.map((viewer) => viewer.messages(3000, 30_000)));
    const reference = ids(viewers[0]!);
    assert.equal(reference.length, 3000);
    assertStrictlyIncreasing(reference, 'viewer 0');
    assert.deepEqual(new Set(reference), new Set(acknowledged));
    for (const viewer of viewers.slice(1)) assert.deepEqual(ids(viewer), reference, 'identical order on every viewer');
  });

  it('resumes on a different node than the one that dropped, with exactly the missed messages', async () => {
    const [a, b, c] = nodes;
    const first = await open(a!, '/streams/move/events');
    const before = [await postOk(c!, 'move', 'one'), await postOk(c!, 'move', 'two')];
    await first.messages(2);
    first.close();
    const missed = [await postOk(c!, 'move', 'three'), await postOk(a!, 'move', 'four')];
    const second = await open(b!, '/streams/move/events', { 'Last-Event-ID': before[1]! });
    const live = await postOk(c!, 'move', 'five');
    await second.messages(3);
    assert.deepEqual(ids(second), [...missed, live]);
  });

  it('tells a viewer resuming on a stream whose log Redis lost, then delivers live messages', async () => {
    // A log gone from Redis (evicted, flushed, a failover onto a replica without it) took messages
    // with it; unlike a restarted in-memory node, Redis keeping nothing is no sign of a new stream.
    const [a, b] = nodes;
    const last = await postOk(a!, 'lost-log', 'kept until the log went');
    const keys = streamKeys('lost-log');
    const master = await cluster.masterFor(keys.log);
    await command(master.port, ['DEL', keys.log, keys.trimmed]);
    const resumed = await open(b!, '/streams/lost-log/events', { 'Last-Event-ID': last });
    // Told before anything new is stored: after that the log looks like any stream's.
    await resumed.until((reader) => reader.events.length > 0, 5000, 'the reset');
    const live = await postOk(a!, 'lost-log', 'after');
    await resumed.messages(1);
    assert.deepEqual(resumed.events.map((event) => event.event ?? event.id), ['reset', live]);
    assert.deepEqual(JSON.parse(resumed.events[0]!.data), { lost: 'unknown' });
  });

  it('replays past a full page of log entries it cannot decode, to the messages after them', async () => {
    // Entries written behind the broker's back (another tool, another version) are left out; a
    // replay that paged on the messages it kept saw an empty page there and stopped.
    const [a, b] = nodes;
    const seen = await postOk(a!, 'odd-log', 'seen');
    const keys = streamKeys('odd-log');
    const master = await cluster.masterFor(keys.log);
    const writeOdd = "for i = 1, 1000 do redis.call('XADD', KEYS[1], '*', 'm', 'not json') end return 1";
    await command(master.port, ['EVAL', writeOdd, '1', keys.log], 5000);
    const missed = await postOk(a!, 'odd-log', 'after the odd ones');
    const resumed = await open(b!, '/streams/odd-log/events', { 'Last-Event-ID': seen });
    await resumed.messages(1);
    assert.deepEqual(resumed.events.map((event) => event.event ?? event.id), [missed]);
  });

  it('replays everything the log retains to a viewer resuming from the start, past HISTORY_SIZE', async () => {
    // Redis trims in steps (HISTORY_SIZE plus up to 10%), so the log can hold more than
    // HISTORY_SIZE; a replay cut at HISTORY_SIZE lost the newest of them with no reset.
    const small = await spawnNode({ REDIS_CLUSTER_NODES: cluster.envValue, NODE_ID: 'node-small', HISTORY_SIZE: '100' });
    try {
      await waitUntil(() => ready(small), 20_000, 'the node with HISTORY_SIZE=100 ready');
      const stream = `retained-${Date.now()}`;
      const posted: string[] = [];
      for (let i = 0; i < 105; i++) posted.push(await postOk(small, stream, `m${i}`));
      const retained = (await (await fetch(`${small.url}/streams/${stream}/messages?limit=100`)).json()) as { messages: { id: string }[] };
      const next = (await (await fetch(`${small.url}/streams/${stream}/messages?limit=100&after=${retained.messages.at(-1)!.id}`)).json()) as { messages: { id: string }[] };
      const kept = [...retained.messages, ...next.messages].map((message) => message.id);
      assert.ok(kept.length > 100, `the log holds ${kept.length}, more than HISTORY_SIZE`);
      const reader = await open(small, `/streams/${stream}/events`, { 'Last-Event-ID': '0-0' });
      await reader.until((r) => ids(r).length >= kept.length, 10_000, `${kept.length} replayed`);
      assert.deepEqual(ids(reader), kept);
      assert.deepEqual(kept.slice(-5), posted.slice(-5), 'the newest are among them');
      const live = await postOk(small, stream, 'live');
      await reader.until((r) => ids(r).includes(live), 10_000, 'the live message');
      assert.deepEqual(ids(reader), [...kept, live]);
    } finally {
      await small.stop(3000);
    }
  });

  it('a stream with no viewers left is unsubscribed on that node (and stays on the others)', async () => {
    const [a, b] = nodes;
    const channelCount = async () => {
      const master = await cluster.masterFor('{gone}');
      const { command } = await import('../helpers/redis-cluster.js');
      const reply = (await command(master.port, ["PUBSUB", "SHARDNUMSUB", ...shardChannels("gone")])) as unknown as unknown[];
      return reply.filter((_, index) => index % 2 === 1).reduce<number>((sum, value) => sum + Number(value), 0);
    };
    const onA = await open(a!, '/streams/gone/events');
    const onB = await open(b!, '/streams/gone/events');
    await waitUntil(async () => (await channelCount()) === 2, 5000, 'two nodes subscribed');
    onA.close();
    await waitUntil(async () => (await channelCount()) === 1, 5000, 'node A unsubscribed');
    const id = await postOk(a!, 'gone', 'still here for B');
    assert.equal((await onB.messages(1))[0]!.id, id);
  });

  it('node SIGKILL: its viewers reconnect to another node with their last id, no gap, no duplicate', async () => {
    const [victim] = await startNodes(1);
    const [, b, c] = nodes;
    const viewers = await Promise.all([0, 1, 2].map(() => open(victim!, '/streams/crash/events')));
    const acknowledged: string[] = [];
    let posting = true;
    const poster = (async () => {
      for (let index = 0; posting; index++) acknowledged.push(await postOk(c!, 'crash', `c${index}`));
    })();
    await Promise.all(viewers.map((viewer) => viewer.messages(20, 10_000)));
    victim!.child.kill('SIGKILL');
    await Promise.all(viewers.map((viewer) => viewer.ended));
    const resumed = await Promise.all(
      viewers.map((viewer) => open(b!, '/streams/crash/events', { 'Last-Event-ID': ids(viewer).at(-1)! })),
    );
    await Promise.all(resumed.map((viewer) => viewer.messages(20, 10_000)));
    posting = false;
    await poster;
    const last = acknowledged.at(-1)!;
    await Promise.all(resumed.map((viewer) => viewer.until((r) => ids(r).includes(last), 10_000, 'the last message')));
    for (const [index, viewer] of viewers.entries()) {
      const sequence = [...ids(viewer), ...ids(resumed[index]!)];
      assertStrictlyIncreasing(sequence, `viewer ${index}`);
      assert.deepEqual(sequence, acknowledged.slice(acknowledged.indexOf(sequence[0]!)), 'no gap, no duplicate');
    }
  });

  it('master failover: viewers stay connected and get every acknowledged message, in order, once', async function () {
    const [a, b, c] = nodes;
    const viewers = await Promise.all([a, b, c].map((node) => open(node!, '/streams/failover/events')));
    const acknowledged: string[] = [];
    let posting = true;
    const poster = (async () => {
      for (let index = 0; posting; index++) {
        const result = await post(nodes[index % 3]!, 'failover', `f${index}`);
        if (result.status === 201) acknowledged.push(result.id!);
        else assert.equal(result.status, 503, JSON.stringify(result));
      }
    })();
    await waitUntil(() => acknowledged.length >= 20, 10_000, 'posts before the failover');
    await cluster.killMasterFor('{failover}');
    const afterFailover = acknowledged.length;
    await waitUntil(() => acknowledged.length >= afterFailover + 20, 20_000, 'posts after the failover');
    posting = false;
    await poster;
    const last = acknowledged.at(-1)!;
    await Promise.all(viewers.map((viewer) => viewer.until((r) => ids(r).includes(last), 15_000, 'the last message')));
    for (const [index, viewer] of viewers.entries()) {
      assert.ok(!viewer.isEnded(), `viewer ${index} stayed connected`);
      const seen = ids(viewer);
      assertStrictlyIncreasing(seen, `viewer ${index}`);
      assert.equal(new Set(seen).size, seen.length, 'no duplicate');
      for (const id of acknowledged) assert.ok(seen.includes(id), `viewer ${index} is missing acknowledged ${id}`);
    }
  });

  it('Redis down: 503 fast on publish and /readyz, viewers stay; recovery delivers again', async () => {
    const [a, b] = nodes;
    const viewer = await open(a!, '/streams/outage/events');
    await postOk(b!, 'outage', 'before');
    await viewer.messages(1);
    await cluster.killAll();
    try {
      await waitUntil(async () => !(await ready(a!)) && !(await ready(b!)), 10_000, '/readyz to turn 503');
      const started = Date.now();
      const failed = await post(b!, 'outage', 'while down');
      assert.equal(failed.status, 503);
      assert.equal(failed.code, 'broker_unavailable');
      assert.ok(Date.now() - started < 3000, `publish failed fast (${Date.now() - started} ms)`);
      const refused = await fetch(`${a!.url}/streams/outage-new/events`);
      assert.equal(refused.status, 503, 'a new stream cannot be joined while Redis is down');
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'broker_unavailable');
      for (const path of ['/streams/outage/messages', '/streams/outage']) {
        const read = await fetch(`${a!.url}${path}`);
        assert.equal(read.status, 503, `${path} while Redis is down`);
      }
      const health = await fetch(`${a!.url}/healthz`);
      assert.equal(health.status, 200, 'still alive while not ready');
    } finally {
      await cluster.restartAll();
    }
    assert.ok(!viewer.isEnded(), 'the viewer stayed connected');
    await waitUntil(async () => (await ready(a!)) && (await ready(b!)), 30_000, '/readyz back to 200');
    const id = await postOk(b!, 'outage', 'after');
    await viewer.until((r) => ids(r).includes(id), 15_000, 'the message posted after recovery');
  });

  it('a node started while the cluster is unreachable serves once Redis is up', async function () {
    await cluster.killAll();
    let late: NodeProcess | undefined;
    try {
      late = await spawnNode({ REDIS_CLUSTER_NODES: cluster.envValue, NODE_ID: 'late', REGION: 'eu-west' });
      nodes.push(late);
      assert.equal((await fetch(`${late.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${late.url}/readyz`)).status, 503);
      assert.equal((await post(late, 'late', 'too early')).status, 503);
    } finally {
      await cluster.restartAll();
    }
    await waitUntil(() => ready(late!), 30_000, 'the late node to become ready');
    const viewer = await open(late!, '/streams/late/events');
    const id = await postOk(late!, 'late', 'now it works');
    assert.equal((await viewer.messages(1))[0]!.id, id);
  });
});

/** The sharded pub/sub channel names a stream may use (see server/broker/redis.ts). */
function shardChannels(stream: string): string[] {
  return [`sse:{${stream}}:live`];
}
