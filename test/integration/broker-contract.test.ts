// One behaviour suite for every Broker: MemoryBroker, RedisBroker on one redis-server and
// RedisBroker on a real 3-master/3-replica Redis Cluster. What passes here is what the Hub and the
// routes may rely on, whichever broker a node runs.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Broker, Message } from '../../server/broker/broker.js';
import { compareIdText, parseId } from '../../server/broker/ids.js';
import { MemoryBroker } from '../../server/broker/memory.js';
import { RedisBroker, type RedisBrokerOptions } from '../../server/broker/redis.js';
import { Recorder } from '../helpers/broker-recorder.js';
import { startRedisCluster, startRedisSingle, waitUntil } from '../helpers/redis-cluster.js';

interface BrokerSettings {
  historySize: number;
  historyMaxAgeMs: number;
}

interface Flavour {
  name: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** Two brokers as two nodes would hold them; the in-memory broker can only share one instance. */
  pair(settings: BrokerSettings): [Broker, Broker];
}

const DEFAULTS: BrokerSettings = { historySize: 1000, historyMaxAgeMs: 0 };

function memoryFlavour(): Flavour {
  return {
    name: 'MemoryBroker',
    setUp: async () => {},
    tearDown: async () => {},
    pair(settings) {
      const broker = new MemoryBroker({ ...settings, nodeId: 'node-a', region: 'eu' });
      return [broker, broker];
    },
  };
}

/** A Redis server (or cluster) started once for the flavour, and two RedisBrokers on it as two nodes. */
function redisFlavour<Server extends { stop(): Promise<void> }>(
  name: string,
  startServer: () => Promise<Server>,
  target: (server: Server) => RedisBrokerOptions['redis'],
): Flavour {
  let server: Server | null = null;
  return {
    name,
    setUp: async () => {
      server = await startServer();
    },
    tearDown: async () => {
      await server?.stop();
    },
    pair(settings) {
      const redis = target(server!);
      return [
        new RedisBroker({ ...settings, redis, nodeId: 'node-a', region: 'eu' }),
        new RedisBroker({ ...settings, redis, nodeId: 'node-b', region: 'us' }),
      ];
    },
  };
}

const flavours = [
  memoryFlavour(),
  redisFlavour('RedisBroker on one Redis', startRedisSingle, (redis) => ({ kind: 'single', url: redis.url })),
  redisFlavour('RedisBroker on a 3x2 Redis Cluster', startRedisCluster, (cluster) => ({ kind: 'cluster', nodes: cluster.nodes })),
];

function assertStrictlyIncreasing(ids: string[]): void {
  for (let i = 1; i < ids.length; i++) {
    assert.ok(compareIdText(ids[i - 1]!, ids[i]!) < 0, `id ${ids[i]} at ${i} does not follow ${ids[i - 1]}`);
  }
}

/** Publishes one more message and waits for it: proves nothing else was queued before it. */
async function settle(publisher: Broker, recorders: Recorder[], stream: string): Promise<Message> {
  const sentinel = await publisher.publish(stream, { author: 'test', text: 'sentinel' });
  await Promise.all(recorders.map((recorder) => recorder.waitForId(sentinel.id)));
  return sentinel;
}

for (const flavour of flavours) {
  describe(`Broker contract: ${flavour.name}`, function () {
    this.timeout(20_000);
    const opened = new Set<Broker>();
    /** Stream names are unique per test: the Redis flavours keep one server for the whole file. */
    const streamName = () => `room-${randomUUID().slice(0, 8)}`;

    before(() => flavour.setUp());
    after(() => flavour.tearDown());
    afterEach(async () => {
      await Promise.all([...opened].map((broker) => broker.close()));
      opened.clear();
    });

    async function brokers(settings: Partial<BrokerSettings> = {}): Promise<[Broker, Broker]> {
      const pair = flavour.pair({ ...DEFAULTS, ...settings });
      for (const broker of pair) opened.add(broker);
      await Promise.all(pair.map((broker) => broker.start()));
      return pair;
    }

    it('is ready once started', async () => {
      const [broker] = await brokers();
      assert.equal(broker.isReady(), true);
    });

    it('publish resolves with the stored message', async () => {
      const [broker] = await brokers();
      const stream = streamName();
      const before = Date.now();
      const message = await broker.publish(stream, { author: 'ann', text: 'hello, <world> ✓' });
      const id = parseId(message.id);
      assert.ok(id, `id ${message.id} is <ms>-<seq>`);
      assert.match(message.id, /^\d+-\d+$/);
      assert.equal(message.ts, id.ms);
      assert.ok(Math.abs(message.ts - before) < 5000, 'ts is the time it was stored');
      assert.deepEqual(
        { stream: message.stream, author: message.author, text: message.text, node: message.node, region: message.region },
        { stream, author: 'ann', text: 'hello, <world> ✓', node: 'node-a', region: 'eu' },
      );
      const page = await broker.history(stream, null, 10);
      assert.deepEqual(page.messages, [message]);
      assert.equal(page.gap, false);
    });

    it('gives strictly increasing ids, sequential and concurrent', async () => {
      const [broker] = await brokers();
      const stream = streamName();
      const sequential: Message[] = [];
      for (let i = 0; i < 20; i++) sequential.push(await broker.publish(stream, { author: 'a', text: `s${i}` }));
      assertStrictlyIncreasing(sequential.map((message) => message.id));
      const concurrent = await Promise.all(Array.from({ length: 100 }, (_, i) => broker.publish(stream, { author: 'a', text: `c${i}` })));
      const page = await broker.history(stream, null, 1000);
      const ids = page.messages.map((message) => message.id);
      assertStrictlyIncreasing(ids);
      assert.deepEqual(new Set(ids), new Set([...sequential, ...concurrent].map((message) => message.id)));
    });

    it('delivers to a subscriber in id order, each message exactly once', async () => {
      const [broker] = await brokers();
      const stream = streamName();
      const recorder = new Recorder();
      const subscription = await broker.subscribe(stream, recorder);
      const published = await Promise.all(Array.from({ length: 50 }, (_, i) => broker.publish(stream, { author: 'a', text: `m${i}` })));
      await recorder.waitForCount(50);
      const sentinel = await settle(broker, [recorder], stream);
      const expected = [...published.map((message) => message.id)].sort(compareIdText);
      assert.deepEqual(recorder.ids, [...expected, sentinel.id]);
      assert.deepEqual(recorder.messages[0], published.find((message) => message.id === expected[0]));
      assert.deepEqual(recorder.gaps, []);
      await subscription.unsubscribe();
    });

    it('delivers only what is published after subscribe resolves', async () => {
      const [broker] = await brokers();
      const stream = streamName();
      for (let i = 0; i < 3; i++) await broker.publish(stream, { author: 'a', text: `old${i}` });
      const recorder = new Recorder();
      await broker.subscribe(stream, recorder);
      const fresh = await broker.publish(stream, { author: 'a', text: 'new' });
      await recorder.waitForId(fresh.id);
      assert.deepEqual(recorder.ids, [fresh.id]);
    });

    it('stops delivering to a listener that unsubscribed, and keeps delivering to the others', async () => {
      const [broker] = await brokers();
      const stream = streamName();
      const leaving = new Recorder();
      const staying = new Recorder();
      const leavingSubscription = await broker.subscribe(stream, leaving);
      await broker.subscribe(stream, staying);
      const first = await broker.publish(stream, { author: 'a', text: 'both' });
      await Promise.all([leaving.waitForId(first.id), staying.waitForId(first.id)]);
      await leavingSubscription.unsubscribe();
      await broker.publish(stream, { author: 'a', text: 'one' });
      await settle(broker, [staying], stream);
      assert.deepEqual(leaving.ids, [first.id]);
      assert.equal(staying.messages.length, 3);
    });

    it('reads history after an id, oldest first, at most `limit`', async () => {
      const [broker] = await brokers();
      const stream = streamName();
      const published: Message[] = [];
      for (let i = 0; i < 10; i++) published.push(await broker.publish(stream, { author: 'a', text: `h${i}` }));
      const ids = published.map((message) => message.id);
      assert.deepEqual((await broker.history(stream, null, 100)).messages, published);
      assert.deepEqual((await broker.history(stream, ids[3]!, 100)).messages.map((m) => m.id), ids.slice(4));
      const two = await broker.history(stream, ids[3]!, 2);
      assert.deepEqual({ ids: two.messages.map((m) => m.id), readThrough: two.readThrough, more: two.more }, { ids: ids.slice(4, 6), readThrough: ids[5], more: true });
      const rest = await broker.history(stream, ids[5]!, 100);
      assert.deepEqual({ readThrough: rest.readThrough, more: rest.more }, { readThrough: ids[9], more: false });
      assert.deepEqual(await broker.history(stream, ids[9]!, 100), { messages: [], gap: false, lost: 0, position: ids[9], readThrough: null, more: false });
      // (A stream's position before any message differs by broker: see "tells where a stream is".)
      const { messages, gap, lost } = await broker.history(streamName(), null, 100);
      assert.deepEqual({ messages, gap, lost }, { messages: [], gap: false, lost: 0 });
      // An id between two stored ones (a reader's id from another stream position) still works.
      const between = `${parseId(ids[5]!)!.ms}-${parseId(ids[5]!)!.seq}`;
      assert.deepEqual((await broker.history(stream, between, 100)).messages.map((m) => m.id), ids.slice(6));
    });

    it('trims history to historySize and flags a reader whose next message was trimmed', async () => {
      const [broker] = await brokers({ historySize: 5 });
      const stream = streamName();
      const published: Message[] = [];
      for (let i = 0; i < 12; i++) published.push(await broker.publish(stream, { author: 'a', text: `t${i}` }));
      const ids = published.map((message) => message.id);
      const all = await broker.history(stream, null, 100);
      assert.deepEqual(all.messages.map((m) => m.id), ids.slice(7));
      assert.equal(all.gap, false, 'a reader with no id asked for what is retained, and got it');

      const behind = await broker.history(stream, ids[0]!, 100);
      assert.equal(behind.gap, true);
      assert.deepEqual(behind.messages.map((m) => m.id), ids.slice(7));
      assert.equal((await broker.history(stream, ids[5]!, 100)).gap, true);
      // The newest trimmed message is the last one this reader saw: it missed nothing.
      const exact = await broker.history(stream, ids[6]!, 100);
      assert.deepEqual({ gap: exact.gap, ids: exact.messages.map((m) => m.id) }, { gap: false, ids: ids.slice(7) });
      assert.equal((await broker.history(stream, ids[8]!, 100)).gap, false);
    });

    it('ages out history older than historyMaxAgeMs', async () => {
      const [broker] = await brokers({ historyMaxAgeMs: 400 });
      const stream = streamName();
      const old = await broker.publish(stream, { author: 'a', text: 'old' });
      assert.equal((await broker.history(stream, null, 10)).messages.length, 1);
      await waitUntil(async () => (await broker.history(stream, null, 10)).messages.length === 0, 5000, 'the message to age out');
      assert.equal((await broker.history(stream, old.id, 10)).gap, false, 'the reader saw the aged-out message');
      assert.deepEqual(await broker.recent(stream, 10), { messages: [], position: old.id }, 'the position outlives the message');
      assert.equal((await broker.history(stream, null, 10)).position, old.id);
      const fresh = await broker.publish(stream, { author: 'a', text: 'fresh' });
      assert.deepEqual((await broker.recent(stream, 10)).messages.map((m) => m.id), [fresh.id]);
      const page = await broker.history(stream, '1-0', 10);
      assert.deepEqual({ gap: page.gap, ids: page.messages.map((m) => m.id) }, { gap: true, ids: [fresh.id] });
    });

    it('returns the most recent messages, oldest first', async () => {
      const [broker] = await brokers();
      const stream = streamName();
      const published: Message[] = [];
      for (let i = 0; i < 6; i++) published.push(await broker.publish(stream, { author: 'a', text: `r${i}` }));
      assert.deepEqual(await broker.recent(stream, 3), { messages: published.slice(3), position: published.at(-1)!.id });
      assert.deepEqual((await broker.recent(stream, 100)).messages, published);
      assert.deepEqual((await broker.recent(streamName(), 3)).messages, []);
    });

    it('tells where a stream is: its newest id, trimmed or not, and 0-0 (or, in memory, null) before any', async () => {
      const [nodeA, nodeB] = await brokers({ historySize: 2, historyMaxAgeMs: 0 });
      const stream = streamName();
      // Redis keeps its streams across restarts, so nothing there means no messages ever; the
      // in-process broker cannot tell that from a restart.
      const none = nodeB.kind === 'memory' ? null : '0-0';
      assert.equal((await nodeB.recent(stream, 5)).position, none);
      assert.equal((await nodeB.history(stream, '1-0', 5)).position, none);
      let last = '';
      for (let i = 0; i < 30; i++) last = (await nodeA.publish(stream, { author: 'a', text: `p${i}` })).id;
      assert.equal((await nodeB.recent(stream, 1)).position, last, 'read from another node');
      const page = await nodeB.history(stream, '1-0', 1);
      assert.deepEqual({ position: page.position, gap: page.gap }, { position: last, gap: true }, 'older ones were trimmed');
    });

    it('gives every subscriber on every node one identical order with publishers on two nodes', async () => {
      const [nodeA, nodeB] = await brokers();
      const stream = streamName();
      const onA = new Recorder();
      const onB = new Recorder();
      await nodeA.subscribe(stream, onA);
      await nodeB.subscribe(stream, onB);
      const perNode = 60;
      const published = await Promise.all(
        Array.from({ length: perNode * 2 }, (_, i) => (i % 2 === 0 ? nodeA : nodeB).publish(stream, { author: `p${i % 2}`, text: `x${i}` })),
      );
      await Promise.all([onA.waitForCount(perNode * 2), onB.waitForCount(perNode * 2)]);
      const sentinel = await settle(nodeA, [onA, onB], stream);
      assert.deepEqual(onA.ids, onB.ids, 'both nodes see the same order');
      assertStrictlyIncreasing(onA.ids);
      const history = await nodeB.history(stream, null, 1000);
      assert.deepEqual(history.messages.map((m) => m.id), onA.ids, 'live order is the stored order');
      assert.deepEqual(new Set(onA.ids), new Set([...published.map((m) => m.id), sentinel.id]));
      // Each message carries the node and region that accepted it, whichever node delivers it.
      const origin = new Map(published.map((m) => [m.id, `${m.node}/${m.region}`]));
      for (const message of onB.messages.slice(0, -1)) assert.equal(`${message.node}/${message.region}`, origin.get(message.id));
    });
  });
}
