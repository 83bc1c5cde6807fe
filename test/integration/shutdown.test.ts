// SIGTERM with event streams open: the node ends them cleanly (clients reconnect elsewhere),
// refuses new ones, and exits 0 well within 10 s.
import assert from 'node:assert/strict';
import { spawnNode, type NodeProcess } from '../helpers/node.js';
import { openSse } from '../helpers/sse-reader.js';

describe('one node: shutdown', function () {
  let node: NodeProcess | null = null;
  after(async () => {
    await node?.stop(1000);
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
