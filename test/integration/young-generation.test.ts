// What young-generation.ts relies on from V8: the flag set while the process runs holds for the
// scavenges after it (V8 reads it at each one). Checked with V8's own trace of every scavenge.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../server/young-generation.js', import.meta.url));

describe('young generation: parallel scavenge in a running process', () => {
  it('no scavenge runs on a helper thread once PARALLEL_SCAVENGE=off is applied', async function () {
    this.timeout(30_000);
    // Young garbage with a little kept, as a node makes; the mark splits the trace in two.
    const script = `
      const { applyParallelScavenge } = await import(${JSON.stringify(MODULE)});
      const kept = [];
      const churn = () => { for (let i = 0; i < 400000; i++) { const o = { i, s: 'x' + i }; if (i % 64 === 0) kept.push(o); } };
      churn();
      console.log('APPLIED', JSON.stringify(applyParallelScavenge('off')));
      churn();
      kept.length = 0;
    `;
    const child = spawn(process.execPath, ['--trace-gc-nvp', '--max-semi-space-size=4', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, output.slice(-2000));
    const [, after] = output.split(/^APPLIED .*$/m);
    assert.ok(after !== undefined, `the mark is in the output:\n${output.slice(0, 500)}`);
    const background = [...after.matchAll(/ gc=s .*?background\.scavenge\.parallel=([\d.]+)/g)].map((match) => Number(match[1]));
    assert.ok(background.length >= 3, `scavenges after the flag: ${background.length}`);
    assert.deepEqual(background.filter((ms) => ms > 0), [], 'time a helper thread spent scavenging');
  });
});
