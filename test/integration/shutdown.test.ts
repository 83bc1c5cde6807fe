// SIGTERM with event streams open: the node ends them cleanly (clients reconnect elsewhere),
// refuses new ones, and exits 0 well within 10 s.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnNode, spawnNpmStart, startTestNode, type NodeProcess } from '../helpers/node.js';
import { openRaw, rawRequest } from '../helpers/raw-http.js';
import { openSse } from '../helpers/sse-reader.js';

describe('one node: shutdown', function () {
  let node: NodeProcess | null = null;
  after(async () => {
    await node?.stop(1000);
  });

  it('answers a post that arrives as shutdown begins with 503 shutting_down and closes: never a reset, never a 201 nobody sees', async () => {
    const running = await startTestNode();
    const json = rawRequest('POST', '/streams/late/messages', { 'Content-Type': 'application/json' }, '{"author":"a","text":"too late"}');
    const form = rawRequest('POST', '/streams/late/messages', { 'Content-Type': 'application/x-www-form-urlencoded', 'HX-Request': 'true' }, 'author=a&text=too+late');
    const connections = [await openRaw(running.url), await openRaw(running.url)];
    let closed: Promise<void> | null = null;
    try {
      // A post answered first: the connections are kept alive, idle, when shutdown begins.
      for (const connection of connections) {
        connection.send(json);
        assert.equal((await connection.responses(1))[0]!.status, 201);
      }
      // The next post is sent just as the node begins to stop, before it has read it.
      connections[0]!.send(json);
      connections[1]!.send(form);
      closed = running.close();
      const [refused] = await connections[0]!.responses(1);
      assert.equal(refused!.status, 503);
      assert.equal(JSON.parse(refused!.body).error.code, 'shutting_down');
      assert.equal(refused!.header('connection'), 'close');
      const [page] = await connections[1]!.responses(1);
      assert.equal(page!.status, 503);
      assert.match(page!.body, /too late<\/textarea>/, 'the form comes back with its text');
      await Promise.all(connections.map((connection) => connection.closed));
    } finally {
      for (const connection of connections) connection.close();
      await (closed ?? running.close());
    }
  });

  it('ends open streams and exits 0 within 10 s of SIGTERM', async () => {
    node = await spawnNode({ HEARTBEAT_MS: '60000' });
    const first = await openSse(`${node.url}/streams/a/events`);
    const second = await openSse(`${node.url}/streams/b/events?format=html`);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const started = Date.now();
    node.child.kill('SIGTERM');
    await Promise.all([first.ended, second.ended]);
    const code = await node.exited;
    assert.equal(code, 0, node.output());
    assert.ok(Date.now() - started < 10_000);
    assert.match(node.output(), /"msg":"stopped"/);
  });

  it('stops cleanly on a SIGTERM to `npm start` (docker stop, a supervisor), leaving no node behind', async function () {
    this.timeout(40_000);
    node = await spawnNpmStart();
    const pid = Number(/"pid":(\d+)[^\n]*"msg":"listening"/.exec(node.output())?.[1]);
    assert.ok(pid > 0 && pid !== node.child.pid, 'the node logs its own pid');
    const stream = await openSse(`${node.url}/streams/a/events`);
    node.child.kill('SIGTERM');
    await node.exited;
    // Before `exec`, npm exited at once and the node went on serving.
    const outlived = existsSync(`/proc/${pid}`);
    if (outlived) process.kill(pid, 'SIGKILL');
    assert.equal(outlived, false, `node ${pid} outlived npm`);
    // It got the signal: it ended its streams as on a SIGTERM of its own.
    await stream.ended;
    assert.match(node.output(), /"msg":"stopped"/);
  });

  it('exits 0 on SIGTERM when nothing reads its logs any more (stdout a broken pipe)', async function () {
    this.timeout(20_000);
    node = await spawnNode();
    // The reading end of the node's stdout closed: its next log line meets EPIPE.
    node.child.stdout!.destroy();
    const started = Date.now();
    node.child.kill('SIGTERM');
    const code = await node.exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 10_000, `exited after ${Date.now() - started} ms`);
  });
});
