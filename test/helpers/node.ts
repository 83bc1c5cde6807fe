// Starts sse-chat nodes for tests: in this process (fast, for one-node tests) or as a separate
// process (for shutdown, SIGKILL and multi-node tests), always on port 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { BrokerUnavailableError, type Broker } from '../../server/broker/broker.js';
import { MemoryBroker } from '../../server/broker/memory.js';
import { loadConfig } from '../../server/config.js';
import { startNode, type RunningNode } from '../../server/node.js';

export const TEST_ENV: Record<string, string> = {
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'silent',
  RATE_LIMIT_POSTS: '0',
  UNSUBSCRIBE_LINGER_MS: '0',
};

/** `options.broker` lets a test keep one broker (and its history) across a node's restart. */
export function startTestNode(env: Record<string, string> = {}, options: { broker?: Broker } = {}): Promise<RunningNode> {
  const config = loadConfig({ ...TEST_ENV, ...env });
  return startNode(config, pino({ level: 'silent' }), options);
}

/** A one-node broker whose subscribe fails as an unreachable Redis would (posts still work). */
export function brokerThatCannotSubscribe(): MemoryBroker {
  const broker = new MemoryBroker({ historySize: 10, historyMaxAgeMs: 0, nodeId: 'n', region: 'r' });
  broker.subscribe = async () => {
    throw new BrokerUnavailableError();
  };
  return broker;
}

export interface NodeProcess {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  output(): string;
  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
}

const MAIN = fileURLToPath(new URL('../../server/main.js', import.meta.url));
/** The checkout's root, where `npm start` runs (this file is dist/test/helpers/node.js). */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export function spawnNode(env: Record<string, string> = {}, startTimeoutMs = 20_000): Promise<NodeProcess> {
  return spawnProcess(process.execPath, [MAIN], env, startTimeoutMs);
}

/** The node as `npm start` runs it: `child` is npm, and the node's logs come through it. */
export function spawnNpmStart(env: Record<string, string> = {}, startTimeoutMs = 30_000): Promise<NodeProcess> {
  return spawnProcess('npm', ['start', '--silent'], env, startTimeoutMs, REPO);
}

function spawnProcess(command: string, args: string[], env: Record<string, string>, startTimeoutMs: number, cwd?: string): Promise<NodeProcess> {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node did not start within ${startTimeoutMs} ms:\n${output}`));
    }, startTimeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)".*"msg":"listening"/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const handle: NodeProcess = {
        child,
        url: match[1]!,
        exited,
        output: () => output,
        async stop(graceMs = 10_000) {
          if (child.exitCode !== null || child.signalCode !== null) return exited;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          const result = await exited;
          clearTimeout(killer);
          return result;
        },
      };
      resolve(handle);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node exited (${code}) before listening:\n${output}`));
    });
  });
}
