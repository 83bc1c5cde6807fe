import assert from 'node:assert/strict';
import { callgrindTotal, dumpTotals } from '../../bench/instructions.js';

// The instruction counter's reading of callgrind's files.
describe('bench instructions', () => {
  const dump = (total: number) => `version: 1\ncreator: callgrind-3.19.0\ncmd: node x\npart: 1\nevents: Ir\nsummary: ${total}\n\nfn=main\n1 ${total}\n\ntotals: ${total}\n`;

  it('reads the totals of a callgrind file', () => {
    assert.equal(callgrindTotal(dump(123456789)), 123456789);
    assert.equal(callgrindTotal('events: Ir\nsummary: 42\n'), 42);
    assert.equal(callgrindTotal('events: Ir\n'), null);
  });

  it('adds up a process’s threads from its first dump only, the first thread apart', () => {
    const files = [
      { name: 'cg.100.1-01', text: dump(700) },
      { name: 'cg.100.1-02', text: dump(50) },
      { name: 'cg.100.1-05', text: dump(25) },
      // the dump at exit, another process, and a log
      { name: 'cg.100-01', text: dump(99999) },
      { name: 'cg.200.1-01', text: dump(400) },
      { name: 'sse-chat.log', text: '' },
    ];
    assert.deepEqual(dumpTotals(files, 100), { main: 700, all: 775 });
    assert.deepEqual(dumpTotals(files, 200), { main: 400, all: 400 });
    assert.equal(dumpTotals(files, 300), null, 'a process that was not dumped');
  });

  it('reads a later dump apart from the first: the connect phase after the posts', () => {
    const files = [
      { name: 'cg.100.1-01', text: dump(700) },
      { name: 'cg.100.1-02', text: dump(50) },
      { name: 'cg.100.2-01', text: dump(9000) },
      { name: 'cg.100.2-03', text: dump(100) },
      { name: 'cg.100.12-01', text: dump(5) },
    ];
    assert.deepEqual(dumpTotals(files, 100, 2), { main: 9000, all: 9100 });
    assert.deepEqual(dumpTotals(files, 100), { main: 700, all: 750 }, 'the first dump, not dump 12');
    assert.equal(dumpTotals(files, 100, 3), null);
  });
});
