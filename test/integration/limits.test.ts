// Running out of file descriptors is an ordinary day for a server holding thousands of streams:
// accepts fail for a while, the node must not crash, and it serves again once some close.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TEST_ENV } from '../helpers/node.js';
import { waitUntil } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../server/main.js', import.meta.url));

describe('one node: out of file descriptors', function () {
  this.timeout(30_000);

  it('keeps running when accept fails (EMFILE), and serves again once connections close', async () => {
    const child = spawn('sh', ['-c', `ulimit -n 200 && exec "${process.execPath}" "${MAIN}"`], {
      env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    const sockets: Socket[] = [];
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start:\n${output}`)), 15_000);
        child.stdout!.on('data', () => {
          const match = /"url":"(http:\/\/[^"]+)".*"msg":"listening"/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        void exited.then(() => reject(new Error(`exited before listening:\n${output}`)));
      });
      const { port } = new URL(url);
      // Far more streams than 200 descriptors allow; the kernel queues what the node cannot accept.
      const answered = new Set<Socket>();
      const closed = new Set<Socket>();
      for (let index = 0; index < 400; index++) {
        const socket = connect(Number(port), '127.0.0.1', () => socket.write(`GET /streams/s${index}/events HTTP/1.1\r\nHost: x\r\n\r\n`));
        socket.once('data', () => answered.add(socket));
        socket.on('error', () => {});
        socket.on('close', () => closed.add(socket));
        sockets.push(socket);
      }
      // Every client hears something: its stream opens, or its connection is closed at once.
      await waitUntil(() => sockets.every((socket) => answered.has(socket) || closed.has(socket)) || child.exitCode !== null, 15_000, 'every client to get an answer');
      assert.equal(child.exitCode, null, `the node crashed:\n${output.slice(-2000)}`);
      assert.ok(answered.size > 100, `${answered.size} streams opened`);
      assert.ok(closed.size > 0, 'the descriptor limit was reached');
      for (const socket of sockets.splice(0)) socket.destroy();
      const healthy = () => fetch(`${url}/healthz`).then((response) => response.status === 200, () => false);
      await waitUntil(healthy, 10_000, '/healthz to answer 200 once descriptors are free');
    } finally {
      for (const socket of sockets) socket.destroy();
      child.kill('SIGKILL');
      await exited;
    }
  });
});
