// The benchmark's server_wait_ms and subscriber_wait_ms say how long a process was ready to run
// while its core ran something else; they explain a latency tail only if they are that time and
// not the time it ran. Three busy processes on one core make the difference plain: each runs about
// a third of the time and waits about two thirds.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpuSeconds, runQueueWaitSeconds, sinceStart } from '../../bench/procstat.js';

const BUSY_MS = 600;

/** The first CPU this process may run on (a container may not allow CPU 0). */
function firstAllowedCpu(): string {
  const list = /Cpus_allowed_list:\s*(\d+)/.exec(readFileSync('/proc/self/status', 'latin1'));
  return list?.[1] ?? '0';
}

describe('bench: run-queue wait from /proc', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  it('counts the time a process waited for its core, not the time it ran', async function () {
    this.timeout(10_000);
    // Pinned to one core, so at most one of them runs at any moment.
    const cpu = firstAllowedCpu();
    // Each loop ends with its parent (taskset execs sh, so that is mocha): a run killed before
    // `after` must not leave them spinning on the core the bench pins its servers to.
    for (let i = 0; i < 3; i++) children.push(spawn('taskset', ['-c', cpu, 'sh', '-c', 'while kill -0 $PPID 2>/dev/null; do :; done'], { stdio: 'ignore' }));
    await Promise.all(children.map((child) => once(child, 'spawn')));
    const pids = children.map((child) => child.pid!);
    const before = pids.map((pid) => runQueueWaitSeconds([pid]));
    await new Promise((resolve) => setTimeout(resolve, BUSY_MS));
    const waited = pids.map((pid, i) => runQueueWaitSeconds([pid]) - before[i]!);
    // Each ran about a third of the window and waited about two thirds: read as run time, it would
    // fall short of this bound.
    for (const seconds of waited) assert.ok(seconds > (BUSY_MS / 1000) * 0.4, `waited ${seconds} s of ${BUSY_MS} ms`);
    assert.equal(runQueueWaitSeconds([2 ** 22 + 1]), 0, 'a process that is gone counts as 0');
  });
});

describe('bench: CPU time of processes that may exit', () => {
  it('is the time since the start while every process lives, and not known once one has exited', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    const pids = [process.pid, child.pid!];
    const before = cpuSeconds(pids);
    // Some CPU of this process, so that the difference has something to show.
    const until = Date.now() + 50;
    while (Date.now() < until);
    const spent = sinceStart(pids, before, cpuSeconds);
    assert.ok(spent >= 0.01, `spent ${spent} s`);
    child.kill('SIGKILL');
    await once(child, 'exit');
    // /proc has forgotten the child's time: the plain difference would drop by it, or below 0.
    assert.ok(Number.isNaN(sinceStart(pids, before, cpuSeconds)));
    assert.ok(Number.isNaN(sinceStart(pids, 0, runQueueWaitSeconds)));
  });
});
