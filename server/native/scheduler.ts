// The event loop's scheduling slice. On Linux 6.12+ (EEVDF) a task woken on a busy core may wait
// until the running task's slice ends unless its own slice is shorter, and the default slice is a
// millisecond or more (1.4 ms on the 2-vCPU machines of BENCHMARKS.md, longer with more CPUs): a
// short slice for the main thread lets a socket's wake-up preempt sooner, which is most of rooms'
// latency tail on a shared core. The CPU share stays the same. The system call is in scheduler.c,
// built by npm's install step where the machine can (build.mjs); without it the node runs as before.
import { loadAddon } from './addon.js';
import { release } from 'node:os';

/** What scheduler.c exports. */
export interface SchedulerCalls {
  /** A thread's slice in ns, 0 where it has none (kernels before 6.12; real-time tasks). 0 is the calling thread. */
  slice(tid?: number): number;
  /** Sets the calling thread's slice in ns (0: the kernel's default); returns the slice now reported. */
  setSlice(ns: number): number;
}

export type SliceOutcome =
  | { kind: 'set'; sliceUs: number }
  | { kind: 'kernel default' }
  /** Expected on this machine: not Linux, or a kernel without custom slices. */
  | { kind: 'unsupported'; reason: string }
  /** Something failed: not built, not loadable, the kernel refused, or the thread is not an ordinary task. */
  | { kind: 'unavailable'; reason: string };

/** scheduler.c's calls, or the outcome that says why they are not there. */
export function loadSchedulerCalls(): SchedulerCalls | Extract<SliceOutcome, { reason: string }> {
  if (process.platform !== 'linux') return { kind: 'unsupported', reason: 'not Linux' };
  const loaded = loadAddon<SchedulerCalls>('scheduler');
  return 'calls' in loaded ? loaded.calls : { kind: 'unavailable', reason: loaded.reason };
}

/** Custom slices came with Linux 6.12. */
export function kernelHasSlices(kernelRelease: string): boolean {
  const [major = 0, minor = 0] = kernelRelease.split('.').map((part) => parseInt(part, 10));
  return major > 6 || (major === 6 && minor >= 12);
}

/**
 * Sets the calling thread's slice: call it on the main thread. 0 leaves the kernel's default alone.
 * Threads and processes the thread starts afterwards get the kernel's default slice (and a
 * negative nice value back to 0): the short slice is for the event loop only.
 */
export function setEventLoopSlice(sliceUs: number, load: () => ReturnType<typeof loadSchedulerCalls> = loadSchedulerCalls, kernelRelease = release()): SliceOutcome {
  if (sliceUs === 0) return { kind: 'kernel default' };
  const calls = load();
  if ('kind' in calls) return calls;
  try {
    if (calls.slice() === 0) {
      return kernelHasSlices(kernelRelease)
        ? { kind: 'unavailable', reason: 'the thread has no slice: it is not an ordinary (SCHED_OTHER or SCHED_BATCH) task' }
        : { kind: 'unsupported', reason: 'the kernel has no custom slices (Linux 6.12 or later)' };
    }
    const reportedUs = calls.setSlice(sliceUs * 1000) / 1000;
    if (reportedUs !== sliceUs) return { kind: 'unavailable', reason: `the kernel reports a slice of ${reportedUs} us after setting ${sliceUs}` };
    return { kind: 'set', sliceUs };
  } catch (error) {
    return { kind: 'unavailable', reason: (error as Error).message };
  }
}
