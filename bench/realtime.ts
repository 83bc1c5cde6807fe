// Real-time priority for the processes whose wake-ups a latency figure measures: the server's
// event loop, and the load generator's publisher and subscriber, which time its messages. On these
// VMs the machine's own processes (an agent's runtime thread, kdamond, the services other projects
// use) take a core for 3-9 ms at a time, and the subscriber shares its core with the publisher and
// the runner; a process woken meanwhile waits behind them, and a few such waits decide a 10 s
// window's p99 of about a millisecond, whatever the server does. At SCHED_FIFO the woken process
// runs at once. Both servers get the same; their helper threads stay as they were.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { statFields } from './procstat.js';

/** The lowest real-time priority: above every normal process, below the kernel's own. */
export const REALTIME_PRIORITY = 1;
/** For a process that must preempt another real-time one on its core: the subscriber, the publisher's. */
export const REALTIME_PRIORITY_ABOVE = 2;

function chrt(args: string[]): void {
  execFileSync('chrt', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * SCHED_FIFO for each process's main thread (its event loop). Null when every process that is
 * still alive got it, else why not (no privilege, no chrt): the caller measures at normal
 * priority and says so.
 */
export function raisePriority(pids: number[], priority = REALTIME_PRIORITY): string | null {
  for (const pid of pids) {
    try {
      chrt(['-f', '-p', String(priority), String(pid)]);
    } catch (error) {
      if (!existsSync(`/proc/${pid}`)) continue;
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      return `could not raise process ${pid} to real-time priority (${stderr || (error as Error).message})`;
    }
  }
  return null;
}

/** Back to the normal policy (the subscriber outlives the scenario); a process gone is skipped. */
export function restorePriority(pids: number[]): void {
  for (const pid of pids) {
    try {
      chrt(['-o', '-p', '0', String(pid)]);
    } catch {
      // Gone, or never raised: nothing to restore.
    }
  }
}

/** The scheduling policy of a process's main thread (field 41: 0 normal, 1 FIFO), or null once it is gone. */
export function schedulingPolicy(pid: number): number | null {
  const fields = statFields(pid);
  return fields === null ? null : Number(fields[41 - 3]);
}
