// What setEventLoopSlice decides from what scheduler.c reports, with its calls stood in for: the
// machines where the suite runs cannot show an old kernel or a missing build.
import assert from 'node:assert/strict';
import { setEventLoopSlice, type SchedulerCalls } from '../../server/native/scheduler.js';

function kernel(reportedNs: number, afterSetNs = (ns: number) => ns): SchedulerCalls & { sets: number[] } {
  const sets: number[] = [];
  return {
    sets,
    slice: () => reportedNs,
    setSlice: (ns) => {
      sets.push(ns);
      return afterSetNs(ns);
    },
  };
}

describe('event loop slice', () => {
  it('sets the slice in ns and reports it in us', () => {
    const calls = kernel(1_400_000);
    assert.deepEqual(setEventLoopSlice(100, () => calls), { kind: 'set', sliceUs: 100 });
    assert.deepEqual(calls.sets, [100_000]);
  });

  it('touches nothing for 0, not even the build', () => {
    assert.deepEqual(setEventLoopSlice(0, () => assert.fail('loaded')), { kind: 'kernel default' });
  });

  it('sets nothing on a kernel without custom slices, and says so', () => {
    const calls = kernel(0);
    const outcome = setEventLoopSlice(100, () => calls);
    assert.equal(outcome.kind, 'unsupported');
    assert.match((outcome as { reason: string }).reason, /6\.12/);
    assert.deepEqual(calls.sets, []);
  });

  it('passes on why the build is missing', () => {
    const missing = { kind: 'unavailable', reason: 'not built' } as const;
    assert.deepEqual(setEventLoopSlice(100, () => missing), missing);
  });

  it('does not call a slice set that the kernel then reports otherwise', () => {
    const outcome = setEventLoopSlice(100, () => kernel(1_400_000, () => 1_400_000));
    assert.equal(outcome.kind, 'unavailable');
  });

  it('reports a refused call instead of throwing', () => {
    const refusing = kernel(1_400_000, () => {
      throw new Error('sched_setattr: Operation not permitted');
    });
    assert.deepEqual(setEventLoopSlice(100, () => refusing), { kind: 'unavailable', reason: 'sched_setattr: Operation not permitted' });
  });
});
