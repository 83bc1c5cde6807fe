// The benchmark's default subscriber (bench/loadgen/sse-subscriber.c, compiled with `cc` as
// `npm run bench` does) against a real node: every viewer must count every message once and in
// order, and the connections must come from several loopback source addresses (from one, the
// kernel's ephemeral port search slowed every connect past ~14,000 connections).
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { NativeSubscriber, buildNativeSubscriber } from '../../bench/loadgen/native.js';
import { SOURCE_ADDRESSES, markerText, nowUs, sourceAddress, type ConnectSpec } from '../../bench/loadgen/protocol.js';
import type { RunningNode } from '../../server/node.js';
import { startTestNode } from '../helpers/node.js';

describe('bench: the native subscriber', function () {
  this.timeout(60_000);
  let path: string;
  let subscriber: NativeSubscriber | null = null;

  before(function () {
    this.timeout(60_000);
    const built = buildNativeSubscriber();
    if ('error' in built) throw new Error(`the native subscriber did not compile: ${built.error}`);
    path = built.path;
  });
  afterEach(async () => {
    await subscriber?.close();
    subscriber = null;
  });

  it('counts what a node delivers: every message to every viewer once, in order, none from the wrong stream', async () => {
    const node: RunningNode = await startTestNode();
    try {
      const port = Number(new URL(node.url).port);
      const streams = ['bench-a', 'bench-b'];
      const specs: ConnectSpec[] = Array.from({ length: 24 }, (_, index) => ({
        port,
        stream: index % 2,
        node: 0,
        path: `/streams/${streams[index % 2]}/events`,
      }));
      subscriber = new NativeSubscriber(path);
      const connected = await subscriber.connect({ specs, concurrency: 8, timeoutMs: 10_000 });
      assert.deepEqual([connected.established, connected.failed], [24, 0], connected.errors.join('; '));

      const posts = [7, 11]; // per stream, so a message counted on the wrong stream shows
      for (const [index, stream] of streams.entries()) {
        for (let seq = 0; seq < posts[index]!; seq++) {
          const response = await fetch(`${node.url}/streams/${stream}/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ author: 'bench', text: markerText(seq, nowUs(), 0) }),
          });
          assert.equal(response.status, 201);
        }
      }
      const done = await subscriber.awaitDelivery({ expected: posts, timeoutMs: 10_000, stallMs: 5000 });
      assert.equal(done.complete, true, 'every viewer saw its stream’s count');
      const stats = await subscriber.stats(posts);
      assert.equal(stats.connections, 24);
      assert.equal(stats.expected, 12 * 7 + 12 * 11);
      assert.equal(stats.delivered, stats.expected);
      assert.equal(stats.duplicates, 0);
      assert.equal(stats.outOfOrder, 0);
      assert.equal(stats.closed, 0);
    } finally {
      await node.close();
    }
  });

  it('connects from several loopback source addresses', async () => {
    const peers = new Set<string>();
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      peers.add(socket.remoteAddress ?? '');
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n'));
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      subscriber = new NativeSubscriber(path);
      const specs = Array.from({ length: 32 }, () => ({ port, stream: 0, node: 0, path: '/x' }));
      const connected = await subscriber.connect({ specs, concurrency: 8, timeoutMs: 10_000 });
      assert.equal(connected.established, 32, connected.errors.join('; '));
      assert.deepEqual(
        [...peers].sort(),
        Array.from({ length: SOURCE_ADDRESSES }, (_, index) => sourceAddress(index)).sort(),
        'one connection in 16 from each of 127.0.0.1-127.0.0.16',
      );
    } finally {
      await subscriber?.closeConnections();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
  it('refuses every call once it has exited, rather than leaving the runner waiting', async () => {
    subscriber = new NativeSubscriber(path);
    await subscriber.reset();
    process.kill(subscriber.pid, 'SIGKILL');
    // The call in flight when it died, and every call after: each rejects, none waits.
    await assert.rejects(subscriber.reset(), /native subscriber exited \(SIGKILL\)/);
    await assert.rejects(subscriber.reset(), /native subscriber exited \(SIGKILL\)/);
    await assert.rejects(subscriber.stats([0]), /native subscriber exited/);
  });
});
