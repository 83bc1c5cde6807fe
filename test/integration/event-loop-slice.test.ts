// The event loop's scheduling hint on a real process: the node's main thread gets the slice it
// was configured with, its other threads keep the kernel's, and EVENT_LOOP_SLICE_US=0 leaves the
// main thread alone too.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { loadSchedulerCalls, setEventLoopSlice } from '../../server/native/scheduler.js';
import { spawnNode, type NodeProcess } from '../helpers/node.js';

const calls = loadSchedulerCalls();

/** The slices of a process's main thread and of its other threads (V8's, libuv's). */
function slices(pid: number): { main: number; others: Set<number> } {
  if (typeof calls === 'string') throw new Error(calls);
  const others = new Set<number>();
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    if (tid !== pid) others.add(calls.slice(tid));
  }
  return { main: calls.slice(pid), others };
}

describe('one node: the event loop slice', function () {
  this.timeout(30_000);
  let node: NodeProcess | null = null;

  before(function () {
    if (process.platform !== 'linux') this.skip();
    // npm install builds it on Linux wherever the suite can run: its absence is a failure here.
    assert.notEqual(typeof calls, 'string', `scheduler.c is not loaded: ${String(calls)}`);
    if ((calls as Exclude<typeof calls, string>).slice() === 0) this.skip(); // a kernel before 6.12
  });

  afterEach(async () => {
    await node?.stop(1000);
    node = null;
  });

  it('gives the main thread the configured slice and only the main thread', async () => {
    node = await spawnNode({ EVENT_LOOP_SLICE_US: '250' });
    const { main, others } = slices(node.child.pid!);
    assert.equal(main, 250_000);
    assert.ok(others.size > 0 && !others.has(250_000), `other threads: ${[...others].join(', ')}`);
    assert.match(node.output(), /"slice":\{"kind":"set","sliceUs":250\}.*"msg":"event loop slice"/);
  });

  it('leaves the kernel default with EVENT_LOOP_SLICE_US=0', async () => {
    node = await spawnNode({ EVENT_LOOP_SLICE_US: '0' });
    const { main, others } = slices(node.child.pid!);
    assert.ok(others.has(main), `main ${main}, other threads: ${[...others].join(', ')}`);
    assert.match(node.output(), /"kind":"kernel default"/);
  });

  it('says why when the hint cannot be set, and sets nothing', () => {
    assert.deepEqual(setEventLoopSlice(100, 'not built'), { kind: 'unavailable', reason: 'not built' });
    const oldKernel = { slice: () => 0, setSlice: () => assert.fail('set on a kernel without custom slices') };
    assert.equal(setEventLoopSlice(100, oldKernel).kind, 'unavailable');
  });
});
