// A node that cannot start says why in one JSON log line and exits 1: a log pipeline gets a
// record it can alert on, not a stack trace on stderr split into lines of its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { TEST_ENV } from '../helpers/node.js';

const MAIN = fileURLToPath(new URL('../../server/main.js', import.meta.url));

describe('one node: a start that fails', () => {
  let holder: net.Server | null = null;
  after(() => {
    holder?.close();
  });

  it('logs "could not start" with the reason and exits 1 when its port is taken', async function () {
    this.timeout(20_000);
    holder = net.createServer();
    holder.listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const port = (holder.address() as net.AddressInfo).port;
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 1, stdout + stderr);
    const last = JSON.parse(stdout.trim().split('\n').at(-1)!) as { level: number; msg: string; port: number; err: { code: string } };
    assert.equal(last.msg, 'could not start');
    assert.equal(last.level, 60, 'logged as fatal');
    assert.equal(last.err.code, 'EADDRINUSE');
    assert.equal(last.port, port);
    assert.equal(stderr, '', 'nothing but the log');
  });
});
