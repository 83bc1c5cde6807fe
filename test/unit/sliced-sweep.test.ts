import assert from 'node:assert/strict';
import { SlicedSweep } from '../../server/sse/sliced-sweep.js';

/** Runs deferred slices only when the test says so, so each slice can be looked at. */
function manualDefer() {
  const queue: (() => void)[] = [];
  return {
    defer: (next: () => void) => queue.push(next),
    pending: () => queue.length,
    runOne: () => queue.shift()!(),
  };
}

describe('SlicedSweep', () => {
  it('visits every item of every group once, a budget per slice, yielding in between', () => {
    const rooms = [new Set([1, 2, 3]), new Set<number>(), new Set([4, 5]), new Set([6, 7, 8, 9])];
    const visited: number[] = [];
    const turns = manualDefer();
    const sweep = new SlicedSweep<Set<number>, number>((room) => room, (item) => (visited.push(item), 1), 4, turns.defer);
    sweep.start(rooms.values());
    assert.deepEqual(visited, [1, 2, 3, 4], 'the first slice runs at once, up to its budget');
    assert.equal(sweep.running, true);
    assert.equal(turns.pending(), 1, 'the rest waits for a later turn');
    turns.runOne();
    assert.deepEqual(visited, [1, 2, 3, 4, 5, 6, 7, 8]);
    turns.runOne();
    assert.deepEqual(visited, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(sweep.running, false, 'through every group');
    assert.equal(turns.pending(), 0, 'nothing left scheduled');
  });

  it('counts what each visit says it cost: writes end a slice sooner than looks', () => {
    const visited: number[] = [];
    const turns = manualDefer();
    // Even items "write" (cost 5), odd ones only look (cost 1); budget 6.
    const sweep = new SlicedSweep<number[], number>((group) => group, (item) => (visited.push(item), item % 2 === 0 ? 5 : 1), 6, turns.defer);
    sweep.start([[1, 2, 3, 5, 7, 9, 11, 13]].values());
    assert.deepEqual(visited, [1, 2], '1 + 5 reaches the budget');
    turns.runOne();
    assert.deepEqual(visited, [1, 2, 3, 5, 7, 9, 11, 13]);
  });

  it('sees the groups as they are when it gets to them: removed items are skipped, added ones visited', () => {
    const room = new Set(['a', 'b', 'c', 'd']);
    const visited: string[] = [];
    const turns = manualDefer();
    const sweep = new SlicedSweep<Set<string>, string>((group) => group, (item) => (visited.push(item), 1), 2, turns.defer);
    sweep.start([room].values());
    assert.deepEqual(visited, ['a', 'b']);
    room.delete('c'); // left before its turn came
    room.add('e'); // joined meanwhile
    turns.runOne();
    assert.deepEqual(visited, ['a', 'b', 'd', 'e']);
  });

  it('a start while a sweep is under way lets that sweep go on rather than starting over', () => {
    const visited: number[] = [];
    const turns = manualDefer();
    const sweep = new SlicedSweep<number[], number>((group) => group, (item) => (visited.push(item), 1), 2, turns.defer);
    sweep.start([[1, 2, 3, 4]].values());
    sweep.start([[100, 200]].values());
    assert.deepEqual(visited, [1, 2]);
    turns.runOne();
    assert.deepEqual(visited, [1, 2, 3, 4]);
    turns.runOne();
    assert.equal(sweep.running, false);
    sweep.start([[5]].values());
    assert.deepEqual(visited, [1, 2, 3, 4, 5], 'once through, the next start begins a new sweep');
  });

  it('stop ends the sweep: a slice already deferred does nothing', () => {
    const visited: number[] = [];
    const turns = manualDefer();
    const sweep = new SlicedSweep<number[], number>((group) => group, (item) => (visited.push(item), 1), 1, turns.defer);
    sweep.start([[1, 2, 3]].values());
    sweep.stop();
    assert.equal(sweep.running, false);
    turns.runOne();
    assert.deepEqual(visited, [1]);
  });

  it('yields through setImmediate by default: callbacks already waiting run between slices', async () => {
    const order: string[] = [];
    const sweep = new SlicedSweep<number[], number>((group) => group, (item) => (order.push(`v${item}`), 1), 2);
    setImmediate(() => order.push('other'));
    sweep.start([[1, 2, 3, 4]].values());
    await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
    assert.deepEqual(order, ['v1', 'v2', 'other', 'v3', 'v4']);
  });
});
