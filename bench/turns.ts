// Measuring several targets by turns: all of them started, each given the machine in short slices
// in rotation, so that a slow spell of the machine falls on every target alike. Measured one after
// the other, a spell of a second or so (2-10 ms stalls of a core, seen as the publisher's lag)
// fell on one server's 10 s window and not the other's, and decided rooms' p99 round by round.
//
// During a target's slice the others are stopped (SIGSTOP), servers and load generators: a server
// between its slices is not idle (timers, V8's GC threads: ours used 190 ms of CPU in nchan's 15 s
// of slices, nginx none), and its work would otherwise land in another target's slice. Stopped, it
// waits for its own, as it would have run in its own window when measured alone.
import { atRealtimePriority, type TargetContext } from './measure.js';
import { statFields } from './procstat.js';

/** The order of the targets in turn `turn`: each takes each place equally often (0 1 2, 1 2 0, 2 0 1, ...). */
export function turnOrder(count: number, turn: number): number[] {
  return Array.from({ length: count }, (_, place) => (place + turn) % count);
}

function processesOf(ctx: TargetContext): number[] {
  return [...ctx.server.pids(), ...ctx.loadgen.pids()];
}

function signal(pids: number[], name: 'SIGSTOP' | 'SIGCONT'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // Gone: the target's own failure shows in its figures.
    }
  }
}

/** Until every process in `pids` is stopped (state T) or gone (or a zombie): kill() returns before a signal is taken. */
async function stopped(pids: number[]): Promise<void> {
  for (let tries = 0; tries < 1000; tries++) {
    if (pids.every((pid) => 'TZ'.includes(statFields(pid)?.[0] ?? 'Z'))) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Runs `work` for `ctx` with every other target's processes stopped, and lets them go after. */
export async function alone<T>(ctxs: TargetContext[], ctx: TargetContext, work: () => Promise<T>): Promise<T> {
  const others = ctxs.filter((other) => other !== ctx).flatMap(processesOf);
  signal(others, 'SIGSTOP');
  try {
    await stopped(others);
    return await work();
  } finally {
    signal(others, 'SIGCONT');
  }
}

/**
 * Runs `measure` for every target, `turns` times, one target at a time in rotation: the target at
 * real-time priority (measure.ts), every other one stopped. Each target's results, in turn order.
 */
export async function byTurns<T>(ctxs: TargetContext[], turns: number, measure: (ctx: TargetContext) => Promise<T>): Promise<T[][]> {
  const results = ctxs.map(() => [] as T[]);
  for (let turn = 0; turn < turns; turn++) {
    for (const index of turnOrder(ctxs.length, turn)) {
      const ctx = ctxs[index]!;
      results[index]!.push(await alone(ctxs, ctx, () => atRealtimePriority(ctx, () => measure(ctx))));
    }
  }
  return results;
}
