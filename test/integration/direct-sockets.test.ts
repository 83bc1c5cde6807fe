// The node's own Redis sockets (DirectPublisher, DirectSubscriber) against a Redis that stops
// answering without closing anything (SIGSTOP): the case TCP alone never reports. A real
// redis-server; in place of ioredis's cluster only its slot table, all slots on that server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { DirectPublisher, type PublishArgs } from '../../server/broker/direct-publisher.js';
import { DirectSubscriber } from '../../server/broker/direct-subscriber.js';
import type { BrokerLogger } from '../../server/broker/redis-connections.js';
import { streamKeys } from '../../server/broker/redis-wire.js';
import { PUBLISH_LUA } from '../../server/broker/scripts/publish.js';
import { command, startRedisSingle, waitUntil, type RedisSingleHandle } from '../helpers/redis-cluster.js';

const quiet: BrokerLogger = { debug() {}, info() {}, warn() {}, error() {} };

describe('the node’s own Redis sockets when Redis stops answering', function () {
  this.timeout(30_000);
  let redis: RedisSingleHandle;
  let slotTable: Cluster;
  const closers: (() => void)[] = [];

  before(async () => {
    redis = await startRedisSingle();
    const owner = `${redis.host}:${redis.port}`;
    slotTable = { status: 'ready', slots: Array.from({ length: 16384 }, () => [owner]), refreshSlotsCache() {} } as unknown as Cluster;
  });
  afterEach(() => {
    redis.resume();
    for (const close of closers.splice(0)) close();
  });
  after(async () => {
    await redis.stop();
  });

  const connectionNamed = async (name: string) =>
    String(await command(redis.port, ['CLIENT', 'LIST']))
      .split('\n')
      .some((line) => line.includes(` name=${name} `));

  it('a publish owed a reply fails within the reply deadline, even while more posts are written', async () => {
    const sha = String(await command(redis.port, ['SCRIPT', 'LOAD', PUBLISH_LUA]));
    const name = `sse-chat:${randomUUID().slice(0, 8)}:publish`;
    const publisher = new DirectPublisher(slotTable, PUBLISH_LUA, name, quiet);
    closers.push(() => publisher.close());
    const keys = streamKeys(`direct-${randomUUID().slice(0, 8)}`);
    const args: PublishArgs = { ...keys, body: '{"author":"a","text":"t","node":"n","region":"r"}', historySize: 100, slack: 10, maxAgeMs: 0 };
    // Until its socket is up a publish goes the other way; here that way must not be taken later.
    let handedOver = 0;
    const viaOtherWay = async () => {
      handedOver += 1;
      return String(await command(redis.port, ['EVALSHA', sha, '2', keys.log, keys.trimmed, keys.channel, args.body, '100', '10', '0']));
    };
    await publisher.publish(args, viaOtherWay);
    await waitUntil(() => connectionNamed(name), 5000, 'the publish connection');
    const before = handedOver;
    await publisher.publish(args, viaOtherWay);
    assert.equal(handedOver, before, 'the direct socket took the publish');

    redis.pause();
    const started = Date.now();
    const stuck = publisher.publish(args, viaOtherWay).then(
      () => 'answered',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    // Posts keep coming while the first waits: on a socket's own timeout they would keep it alive.
    const writer = setInterval(() => void publisher.publish(args, viaOtherWay).catch(() => undefined), 300);
    closers.push(() => clearInterval(writer));
    const outcome = await stuck;
    const tookMs = Date.now() - started;
    assert.match(outcome, /no reply/);
    assert.ok(tookMs < 5000, `the owed reply was given up on after ${tookMs} ms`);
  });

  it('a subscriber socket whose master goes silent is cut and the loss reported', async () => {
    const lost: string[] = [];
    const subscriber = new DirectSubscriber(slotTable, `sse-chat:${randomUUID().slice(0, 8)}:subscribe`, { onMessage() {}, onLost: (reason) => lost.push(reason) }, quiet);
    closers.push(() => subscriber.close());
    await subscriber.subscribe(`direct-${randomUUID().slice(0, 8)}`);
    redis.pause();
    const started = Date.now();
    // Nothing is owed on a subscribed socket until its quiet-time PING (5 s), then 3 s to answer.
    await waitUntil(() => lost.length > 0, 12_000, 'the loss to be reported');
    assert.ok(Date.now() - started < 10_000, `reported after ${Date.now() - started} ms`);
  });
});
