// The choice of V8's scavenge helpers: off where the node may use one CPU, as configured otherwise.
import assert from 'node:assert/strict';
import { applyParallelScavenge, chooseParallelScavenge } from '../../server/young-generation.js';

describe('young generation: parallel scavenge', () => {
  it('auto keeps helpers with more than one CPU and turns them off with one', () => {
    assert.deepEqual(chooseParallelScavenge('auto', 2), { parallel: true, why: '2 CPUs available' });
    assert.deepEqual(chooseParallelScavenge('auto', 1), { parallel: false, why: 'one CPU available' });
  });

  it('on and off hold whatever the CPUs', () => {
    assert.equal(chooseParallelScavenge('on', 1).parallel, true);
    assert.equal(chooseParallelScavenge('off', 64).parallel, false);
  });

  it('sets the V8 flag only when helpers are off', () => {
    const set: string[] = [];
    applyParallelScavenge('auto', 1, (flags) => set.push(flags));
    applyParallelScavenge('auto', 8, (flags) => set.push(flags));
    applyParallelScavenge('on', 1, (flags) => set.push(flags));
    assert.deepEqual(set, ['--no-parallel-scavenge']);
  });
});
