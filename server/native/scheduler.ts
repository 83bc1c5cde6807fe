// The event loop's scheduling hint: asks Linux (6.12+) for a short slice for the main thread, so
// that on a busy core it runs as soon as a socket wakes it instead of after the running task's
// slice (1.4 ms by default here, and the VM's agent or a V8 helper thread is often that task).
// Its CPU share is unchanged. The call lives in scheduler.c, built by npm's install step when
// the machine can; without it, or on an older kernel, the node runs as before.
import { createRequire } from 'node:module';

/** What scheduler.c exports. */
export interface SchedulerCalls {
  /** A thread's slice in ns as the kernel reports it (0: the kernel has no custom slices). 0 is the calling thread. */
  slice(tid?: number): number;
  /** Sets the calling thread's slice in ns (0: the kernel's default); returns the slice now reported. */
  setSlice(ns: number): number;
}

export type SliceOutcome =
  | { kind: 'set'; sliceUs: number }
  | { kind: 'kernel default' }
  | { kind: 'unavailable'; reason: string };

/** scheduler.c's calls, or why they are not there. */
export function loadSchedulerCalls(): SchedulerCalls | string {
  if (process.platform !== 'linux') return 'not Linux';
  try {
    // From dist/server/native/ to the build's output beside the source.
    return createRequire(import.meta.url)('../../../server/native/build/Release/scheduler.node') as SchedulerCalls;
  } catch {
    return 'not built: npm install builds it where python3, make and a C compiler are installed';
  }
}

/**
 * Sets the calling thread's slice: call it on the main thread, which runs the event loop.
 * 0 leaves the kernel's default alone.
 */
export function setEventLoopSlice(sliceUs: number, calls: SchedulerCalls | string = loadSchedulerCalls()): SliceOutcome {
  if (sliceUs === 0) return { kind: 'kernel default' };
  if (typeof calls === 'string') return { kind: 'unavailable', reason: calls };
  try {
    // Kernels before 6.12 report no slice for ordinary tasks, and ignore one set.
    if (calls.slice() === 0) return { kind: 'unavailable', reason: 'the kernel has no custom slices (Linux 6.12 or later)' };
    return { kind: 'set', sliceUs: calls.setSlice(sliceUs * 1000) / 1000 };
  } catch (error) {
    return { kind: 'unavailable', reason: (error as Error).message };
  }
}
