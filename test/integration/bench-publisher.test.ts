// The bench's publisher keeps its connections from one slice of a window to the next when asked
// (rooms by turns): a slice that opened new ones would add a handshake and a cold connection to
// its first posts, 16 of every 500, and the p99 would measure that.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PublishPlan, PublishResult } from '../../bench/loadgen/protocol.js';
import { WorkerClient } from '../../bench/loadgen/rpc.js';

describe('bench: the publisher across runs', () => {
  let server: http.Server;
  let connections = 0;
  let posts = 0;
  let publisher: WorkerClient;

  beforeEach(async () => {
    connections = 0;
    posts = 0;
    server = http.createServer((request, response) => {
      posts++;
      request.resume();
      request.on('end', () => response.writeHead(201, { 'Content-Length': '0' }).end());
    });
    server.on('connection', () => connections++);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    publisher = new WorkerClient(new URL('../../bench/loadgen/publisher.js', import.meta.url).pathname, 'publisher');
  });

  afterEach(async () => {
    await publisher.close();
    server.closeAllConnections();
    server.close();
  });

  const plan = (keepConnections: boolean): PublishPlan => ({
    targets: [{ port: (server.address() as AddressInfo).port, node: 0 }],
    paths: ['/streams/a/messages', '/streams/b/messages'],
    mode: 'paced',
    rate: 400,
    durationMs: 100,
    connectionsPerTarget: 2,
    maxInFlight: 8,
    drainMs: 5000,
    keepConnections,
  });

  it('posts every slice over the connections the first one opened', async () => {
    for (let slice = 0; slice < 3; slice++) {
      const result = await publisher.call<PublishResult>('run', plan(true));
      assert.equal(result.ok, 40);
    }
    assert.equal(posts, 120);
    assert.ok(connections >= 1 && connections <= 2, `${connections} connections for three slices`);
  });

  it('opens its connections anew each run otherwise', async () => {
    const first = await publisher.call<PublishResult>('run', plan(false));
    const opened = connections;
    const second = await publisher.call<PublishResult>('run', plan(false));
    assert.equal(first.ok + second.ok, 80);
    assert.ok(connections > opened, 'the second run reused a connection');
  });
  it('refuses every call once it has exited, rather than leaving the runner waiting', async () => {
    const exited = once(publisher.child, 'exit');
    process.kill(publisher.pid, 'SIGKILL');
    await exited;
    await assert.rejects(publisher.call('publish', plan(false)), /publisher exited \(SIGKILL\)/);
    await assert.rejects(publisher.call('publish', plan(false)), /publisher exited \(SIGKILL\)/);
  });
});
