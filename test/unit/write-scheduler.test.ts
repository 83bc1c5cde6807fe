import assert from 'node:assert/strict';
import { WriteScheduler, type Flushable } from '../../server/sse/write-scheduler.js';

/** Resolves after the next setImmediate turn, when the scheduler has run one slice. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Resolves once the ticks queued before it ran: the first slice of an idle scheduler. */
const endOfTick = () => new Promise<void>((resolve) => process.nextTick(resolve));

describe('WriteScheduler', () => {
  it('flushes at the end of the tick when idle, in the order marked, then in slices that yield', async () => {
    const scheduler = new WriteScheduler(3);
    const flushed: number[] = [];
    const connections: Flushable[] = [0, 1, 2, 3, 4, 5, 6].map((n) => ({ flush: () => flushed.push(n), settled: () => {} }));
    for (const connection of connections) scheduler.mark(connection);
    assert.equal(flushed.length, 0, 'nothing is written while the code that queued it runs');
    await endOfTick();
    assert.deepEqual(flushed, [0, 1, 2], 'the first slice leaves before the next turn of the loop');
    // Marked now: goes after the ones still waiting from the first burst.
    scheduler.mark({ flush: () => flushed.push(7), settled: () => {} });
    await nextTurn();
    assert.deepEqual(flushed, [0, 1, 2, 3, 4, 5]);
    await nextTurn();
    assert.deepEqual(flushed, [0, 1, 2, 3, 4, 5, 6, 7]);
    await nextTurn();
    assert.equal(flushed.length, 8, 'each mark is flushed once');
  });

  it('takes a connection marked while the slice is being flushed in a later turn', async () => {
    const scheduler = new WriteScheduler(10);
    const flushed: string[] = [];
    const late: Flushable = { flush: () => flushed.push('late'), settled: () => {} };
    scheduler.mark({
      flush: () => {
        flushed.push('first');
        scheduler.mark(late);
      },
      settled: () => {},
    });
    await endOfTick();
    assert.deepEqual(flushed, ['first']);
    await nextTurn();
    assert.deepEqual(flushed, ['first', 'late']);
  });

  it('flushAll writes every marked connection now (shutdown)', () => {
    const scheduler = new WriteScheduler(2);
    const flushed: number[] = [];
    for (let n = 0; n < 5; n++) scheduler.mark({ flush: () => flushed.push(n), settled: () => {} });
    scheduler.flushAll();
    assert.deepEqual(flushed, [0, 1, 2, 3, 4]);
  });
});
