// The event loop's scheduling slice on a real process: the node's main thread gets the slice it
// was configured with and its other threads keep the kernel's, EVENT_LOOP_SLICE_US=0 leaves the
// main thread alone too, and threads started after the call do not inherit it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { release } from 'node:os';
import { Worker } from 'node:worker_threads';
import { kernelHasSlices, loadSchedulerCalls, type SchedulerCalls } from '../../server/native/scheduler.js';
import { spawnNode, type NodeProcess } from '../helpers/node.js';

describe('one node: the event loop slice', function () {
  this.timeout(30_000);
  let calls: SchedulerCalls;
  let node: NodeProcess | null = null;

  before(function () {
    if (process.platform !== 'linux' || !kernelHasSlices(release())) this.skip();
    const loaded = loadSchedulerCalls();
    // The build is optional for users, not here: the machines this suite runs on have python3,
    // make and a C compiler, and a broken build must not pass as "unsupported".
    if ('kind' in loaded) assert.fail(`scheduler.c is not loaded: ${loaded.reason}`);
    calls = loaded;
  });

  afterEach(async () => {
    await node?.stop(1000);
    node = null;
  });

  /** The slices of a process's main thread and of its other threads. */
  function slices(pid: number): { main: number; others: number[] } {
    const others: number[] = [];
    for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
      if (tid === pid) continue;
      try {
        others.push(calls.slice(tid));
      } catch (error) {
        // A thread that ended since the listing.
        if (!/No such process/.test((error as Error).message)) throw error;
      }
    }
    return { main: calls.slice(pid), others };
  }

  async function startLibuvPool(url: string): Promise<void> {
    // express.static reads the file on libuv's thread pool, which starts on first use (if the
    // node's start did not need it already).
    const response = await fetch(`${url}/static/chat.css`);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
  }

  it('gives the main thread the configured slice, and only the main thread', async () => {
    node = await spawnNode({ EVENT_LOOP_SLICE_US: '250' });
    await startLibuvPool(node.url);
    const { main, others } = slices(node.child.pid!);
    assert.equal(main, 250_000);
    assert.ok(!others.includes(250_000), `other threads: ${others.join(', ')}`);
    assert.match(node.output(), /"slice":\{"kind":"set","sliceUs":250\}.*"msg":"event loop slice"/);
  });

  it('leaves the kernel default with EVENT_LOOP_SLICE_US=0', async () => {
    node = await spawnNode({ EVENT_LOOP_SLICE_US: '0' });
    const { main, others } = slices(node.child.pid!);
    assert.ok(others.includes(main), `main ${main}, other threads: ${others.join(', ')}`);
    assert.match(node.output(), /"kind":"kernel default"/);
  });

  it('leaves threads started after it on the kernel default', async () => {
    // In the node, V8's threads and libuv's pool are up before main.ts runs; a thread started
    // later (a worker, a pool grown by UV_THREADPOOL_SIZE) must not inherit the short slice.
    const threads = () => new Set(readdirSync('/proc/self/task').map(Number));
    const before = threads();
    const kernelDefault = calls.slice();
    let worker: Worker | null = null;
    try {
      calls.setSlice(250_000);
      worker = new Worker('require("node:worker_threads").parentPort.once("message", () => {})', { eval: true });
      await once(worker, 'online');
      const started = [...threads()].filter((tid) => !before.has(tid));
      assert.ok(started.length > 0);
      assert.deepEqual(started.map((tid) => calls.slice(tid)), started.map(() => kernelDefault));
      assert.equal(calls.slice(), 250_000);
    } finally {
      calls.setSlice(0);
      await worker?.terminate();
    }
  });
});
