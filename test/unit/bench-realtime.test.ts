// The rooms scenario raises the server's and the load generator's main threads to real-time
// priority and puts them back after; where that is not allowed it must say so rather than measure
// at normal priority while the report says otherwise.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { statFields } from '../../bench/procstat.js';
import { raisePriority, REALTIME_PRIORITY_ABOVE, restorePriority, schedulingPolicy } from '../../bench/realtime.js';

const SCHED_OTHER = 0;
const SCHED_FIFO = 1;

/** Field 40 of /proc/PID/stat: the real-time priority (0 for normal processes). */
function realtimePriority(pid: number): number {
  return Number(statFields(pid)![40 - 3]);
}

describe('bench: real-time priority', () => {
  let child: ChildProcess;
  beforeEach(async () => {
    child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
  });
  afterEach(() => {
    child.kill('SIGKILL');
  });

  it('raises a process to SCHED_FIFO and back, or says why it could not', () => {
    const pid = child.pid!;
    assert.equal(schedulingPolicy(pid), SCHED_OTHER);
    const failure = raisePriority([pid], REALTIME_PRIORITY_ABOVE);
    if (failure === null) {
      assert.equal(schedulingPolicy(pid), SCHED_FIFO);
      assert.equal(realtimePriority(pid), REALTIME_PRIORITY_ABOVE);
    } else {
      // Without the privilege (not root, no CAP_SYS_NICE): the process is as it was, and the
      // failure names it.
      assert.match(failure, new RegExp(`process ${pid}`));
      assert.equal(schedulingPolicy(pid), SCHED_OTHER);
    }
    restorePriority([pid]);
    assert.equal(schedulingPolicy(pid), SCHED_OTHER);
    assert.equal(realtimePriority(pid), 0);
  });

  it('skips a process that is gone, as a server node that exited', async () => {
    child.kill('SIGKILL');
    await once(child, 'exit');
    // Not reaped until the exit is read; by now it is.
    assert.equal(raisePriority([child.pid!]), null);
    assert.equal(schedulingPolicy(child.pid!), null);
  });
});
