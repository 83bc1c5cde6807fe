// The servers a scenario measures: sse-chat itself, nchan (the peer), the naive tutorial server
// (the floor) and raw-net (what Node itself costs per message: a measuring stick, not a floor).
// Each starts pinned to the server core, on a fresh port, logging to a file, and is stopped by the
// PIDs it was started with.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { processTree } from './procstat.js';
import { SERVER_MAIN, startNodeFlags } from '../scripts/start-command.js';

export type TargetName = 'sse-chat' | 'nchan' | 'naive' | 'raw-net';
export const ALL_TARGETS: TargetName[] = ['sse-chat', 'nchan', 'naive', 'raw-net'];

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The built entry point of each Node target, relative to the repository. */
const NODE_MAINS: Record<Exclude<TargetName, 'nchan'>, string> = {
  'sse-chat': SERVER_MAIN,
  naive: 'dist/bench/peers/naive.js',
  'raw-net': 'dist/bench/peers/raw-net.js',
};
const nchanScript = `${repoRoot}bench/peers/nchan/nchan.sh`;

export interface StartOptions {
  /** How many nodes (cross-node runs start several, all on the server core). */
  nodes: number;
  /** host:port list of a Redis Cluster: sse-chat's REDIS_CLUSTER_NODES, nchan's Redis storage. */
  redisNodes?: string;
  /** The core the server processes are pinned to (taskset -c). */
  cpu: string | null;
  logDir: string;
  label: string;
}

export interface RunningServer {
  name: TargetName;
  ports: number[];
  /** Every process of every node, children included (nginx master and worker). */
  pids(): number[];
  subPath(stream: string): string;
  pubPath(stream: string): string;
  stop(): Promise<void>;
}

/** Why a target cannot run here, or null when it can. */
export function unavailableReason(name: TargetName): string | null {
  if (name === 'nchan') return null;
  return existsSync(`${repoRoot}${NODE_MAINS[name]}`) ? null : `${NODE_MAINS[name]} is not built`;
}

let nextPortCandidate = 20000 + Math.floor(Math.random() * 8000);

/** A port below the ephemeral range (servers listen below 32768) that nothing listens on now. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = nextPortCandidate;
    nextPortCandidate = nextPortCandidate >= 32000 ? 20000 : nextPortCandidate + 1;
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 32768');
}

function pinned(cpu: string | null, command: string, args: string[]): [string, string[]] {
  return cpu === null ? [command, args] : ['taskset', ['-c', cpu, command, ...args]];
}

function ready(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => {
      request.destroy();
      resolve(false);
    });
  });
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

/** sse-chat answers /healthz while its broker still connects; /readyz says when posts will work. */
export async function waitReady(child: ChildProcess, port: number, path: string, logPath: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before answering ${path}:\n${tail(logPath)}`);
    }
    if (await ready(port, path)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no 200 on ${path} within ${timeoutMs} ms:\n${tail(logPath)}`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

/** How one node of a target is started: the command, its arguments and its environment. */
export function nodeCommand(name: TargetName, port: number, nodeIndex: number, options: Pick<StartOptions, 'redisNodes'>): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  if (name === 'nchan') {
    return { command: 'bash', args: [nchanScript, 'run', String(port), ...(options.redisNodes ? [options.redisNodes] : [])], env: process.env };
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ID: `bench-${nodeIndex}`,
    REGION: 'bench',
    RATE_LIMIT_POSTS: '0',
    HEARTBEAT_MS: '15000',
    LOG_LEVEL: 'warn',
  };
  if (options.redisNodes) env.REDIS_CLUSTER_NODES = options.redisNodes;
  else delete env.REDIS_CLUSTER_NODES;
  delete env.REDIS_URL;
  // sse-chat runs with the flags `npm start` gives it. BENCH_NODE_ARGS, e.g. `--cpu-prof
  // --cpu-prof-dir=/tmp/prof`: flags for the Node servers only (NODE_OPTIONS would reach the load
  // generator too, and refuses --cpu-prof); they come later, so they win over the start script's.
  const startFlags = name === 'sse-chat' ? startNodeFlags() : [];
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return { command: process.execPath, args: [...startFlags, ...nodeArgs, `${repoRoot}${NODE_MAINS[name]}`], env };
}

export function subPath(name: TargetName, stream: string): string {
  return name === 'nchan' ? `/sub/${stream}` : `/streams/${stream}/events`;
}

export function pubPath(name: TargetName, stream: string): string {
  return name === 'nchan' ? `/pub/${stream}` : `/streams/${stream}/messages`;
}

/** The path that answers 200 once a target takes posts. */
export function readyPath(name: TargetName): string {
  return name === 'sse-chat' ? '/readyz' : '/healthz';
}

export async function startServer(name: TargetName, options: StartOptions): Promise<RunningServer> {
  mkdirSync(options.logDir, { recursive: true });
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const server: RunningServer = {
    name,
    ports,
    pids: () => children.flatMap((child) => (child.pid ? processTree(child.pid) : [])),
    subPath: (stream) => subPath(name, stream),
    pubPath: (stream) => pubPath(name, stream),
    stop: async () => {
      await Promise.all(children.map(stopChild));
    },
  };
  try {
    for (let nodeIndex = 0; nodeIndex < options.nodes; nodeIndex++) {
      const port = await freePort();
      const logPath = `${options.logDir}/${options.label}-${name}-${nodeIndex}.log`;
      const logFd = openSync(logPath, 'w');
      const { command, args, env } = nodeCommand(name, port, nodeIndex, options);
      const [file, argv] = pinned(options.cpu, command, args);
      const child = spawn(file, argv, { env, stdio: ['ignore', logFd, logFd], cwd: repoRoot });
      closeSync(logFd);
      children.push(child);
      ports.push(port);
      await waitReady(child, port, readyPath(name), logPath);
    }
  } catch (error) {
    await server.stop();
    throw new Error(`${name} did not start: ${(error as Error).message}`);
  }
  return server;
}
