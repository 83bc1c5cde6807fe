// What setEventLoopSlice decides from what scheduler.c reports, with its calls stood in for: the
// machines where the suite runs cannot show an old kernel or a missing build.
import assert from 'node:assert/strict';
import { kernelHasSlices, setEventLoopSlice, type SchedulerCalls } from '../../server/native/scheduler.js';

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
    assert.deepEqual(setEventLoopSlice(100, () => calls, '6.18.44'), { kind: 'set', sliceUs: 100 });
    assert.deepEqual(calls.sets, [100_000]);
  });

  it('touches nothing for 0, not even the build', () => {
    assert.deepEqual(setEventLoopSlice(0, () => assert.fail('loaded')), { kind: 'kernel default' });
  });

  it('sets nothing on a kernel without custom slices, and says so', () => {
    const calls = kernel(0);
    const outcome = setEventLoopSlice(100, () => calls, '6.1.0-28-amd64');
    assert.equal(outcome.kind, 'unsupported');
    assert.match((outcome as { reason: string }).reason, /6\.12/);
    assert.deepEqual(calls.sets, []);
  });

  it('tells a real-time main thread from an old kernel', () => {
    const calls = kernel(0);
    const outcome = setEventLoopSlice(100, () => calls, '6.18.44-fc');
    assert.equal(outcome.kind, 'unavailable');
    assert.match((outcome as { reason: string }).reason, /not an ordinary/);
    assert.deepEqual(calls.sets, []);
  });

  it('knows which kernels have custom slices', () => {
    assert.deepEqual(['6.11.9', '6.12.0', '6.18.44-fc-v1272', '7.0', '5.15.0-1-amd64', 'junk'].map(kernelHasSlices), [false, true, true, true, false, false]);
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
