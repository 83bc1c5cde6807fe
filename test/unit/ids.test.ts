import assert from 'node:assert/strict';
import { compareIdText, formatId, nextId, parseId } from '../../server/broker/ids.js';

describe('stream ids', () => {
  it('parses <ms>-<seq> and a bare <ms>, and rejects anything else', () => {
    assert.deepEqual(parseId('1700000000000-3'), { ms: 1700000000000, seq: 3 });
    assert.deepEqual(parseId('5'), { ms: 5, seq: 0 });
    for (const bad of ['', '-', '1-', '-1', 'a-1', '1-2-3', '1.0-1', ' 1-1', '1234567890123456-0']) assert.equal(parseId(bad), null, bad);
  });

  it('orders by time, then by sequence, numerically', () => {
    assert.ok(compareIdText('9-0', '10-0') < 0);
    assert.ok(compareIdText('10-2', '10-10') < 0);
    assert.equal(compareIdText('10-1', '10-1'), 0);
    assert.throws(() => compareIdText('x', '1-0'));
  });

  it('next id moves with the clock and never goes back when the clock does', () => {
    assert.deepEqual(nextId(null, 100), { ms: 100, seq: 0 });
    assert.deepEqual(nextId({ ms: 100, seq: 0 }, 100), { ms: 100, seq: 1 });
    assert.deepEqual(nextId({ ms: 100, seq: 4 }, 90), { ms: 100, seq: 5 }, 'clock stepped back');
    assert.deepEqual(nextId({ ms: 100, seq: 4 }, 101), { ms: 101, seq: 0 });
    assert.equal(formatId({ ms: 7, seq: 8 }), '7-8');
    // The digits of the last timestamp are remembered: a different one is never given them.
    assert.equal(formatId({ ms: -1, seq: 3 }), '-1-3');
    assert.equal(formatId({ ms: 7, seq: 9 }), '7-9');
  });

  it('formats the first id a process makes, whatever its time', async () => {
    // A fresh copy of the module, as at a process's start: nothing remembered yet.
    const fresh = (await import(new URL('../../server/broker/ids.js?first', import.meta.url).href)) as typeof import('../../server/broker/ids.js');
    assert.equal(fresh.formatId({ ms: -1, seq: 3 }), '-1-3');
  });
});
