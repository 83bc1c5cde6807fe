import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nodeFlagsOf, SERVER_MAIN, startNodeFlags } from '../../scripts/start-command.js';
import { nodeCommand } from '../../bench/targets.js';

const repo = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

describe('the start command', () => {
  it('reads the Node flags of a start script, and refuses one that is not "exec node [flags] <entry>"', () => {
    assert.deepEqual(nodeFlagsOf(`exec node ${SERVER_MAIN}`), []);
    assert.deepEqual(nodeFlagsOf(`exec node --a=1  --b ${SERVER_MAIN}`), ['--a=1', '--b']);
    assert.throws(() => nodeFlagsOf(`tsx server/main.ts`), /should be "exec node \[flags\] dist\/server\/main.js"/);
    assert.throws(() => nodeFlagsOf(`exec node ${SERVER_MAIN} --late`), /should be/);
    // Without exec a SIGTERM to npm never reached the node (test/integration/shutdown.test.ts).
    assert.throws(() => nodeFlagsOf(`node ${SERVER_MAIN}`), /should be/);
  });

  it('npm start sets the young generation the figures in BENCHMARKS.md were measured with', () => {
    assert.ok(startNodeFlags().includes('--max-semi-space-size=4'), `npm start runs node ${startNodeFlags().join(' ')}`);
  });

  it('the Docker image and the bench run the server with the flags npm start gives it', () => {
    const flags = startNodeFlags();
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(repo('Dockerfile'), 'utf8'));
    assert.ok(cmd, 'the Dockerfile has a CMD in exec form');
    assert.deepEqual(JSON.parse(cmd[1]!), ['node', ...flags, SERVER_MAIN]);
    const previous = process.env.BENCH_NODE_ARGS;
    process.env.BENCH_NODE_ARGS = '--stack-size=2000';
    try {
      const { args } = nodeCommand('sse-chat', 3999, 0, {});
      assert.deepEqual(args.slice(0, flags.length + 1), [...flags, '--stack-size=2000'], 'the start flags first, the bench flags after them');
      assert.ok(args.at(-1)!.endsWith(SERVER_MAIN));
      assert.ok(!nodeCommand('naive', 3999, 0, {}).args.some((arg) => flags.includes(arg)), 'the peers run as they are');
    } finally {
      if (previous === undefined) delete process.env.BENCH_NODE_ARGS;
      else process.env.BENCH_NODE_ARGS = previous;
    }
  });

  it('the Docker build copies every native source before npm ci builds them', () => {
    // A source missing there fails node-gyp, and the image would run without any native part.
    const gyp = JSON.parse(readFileSync(repo('server/native/binding.gyp'), 'utf8')) as { targets: { sources: string[] }[] };
    const dockerfile = readFileSync(repo('Dockerfile'), 'utf8');
    const beforeInstall = dockerfile.slice(0, dockerfile.indexOf('RUN npm ci'));
    for (const source of gyp.targets.flatMap((target) => target.sources)) {
      assert.match(beforeInstall, new RegExp(`^COPY .*server/native/${source.replace('.', '\\.')}\\b`, 'm'), source);
    }
  });
});
