// `npm run bench:instructions [-- --targets sse-chat,nchan,raw-net --posts N --warm N --streams N --viewers N --connects N]`:
// the user-space instructions each server spends per post, and per viewer it lets in, counted by
// valgrind's callgrind. Where
// `npm run bench` measures CPU seconds, which on a shared VM swing by a third from minute to
// minute, this counts what the server's code does, the same count run after run whatever else the
// machine is doing; the kernel's part (the system calls, which both servers make alike) is not
// counted. Each target runs alone under callgrind; its viewers connect, it takes `--warm` posts
// (the JIT settles), the counters are zeroed, it takes `--posts` more, and the counts are dumped.
// Posts go one at a time, each waiting for its 201 and every frame, as in rooms at 1,000/s where a
// post seldom meets another. Then the counters are zeroed again and `--connects` more viewers
// connect, 10 per stream on streams of their own as in idle, one at a time, each waiting for its
// response head (the part of idle's setup time that is the server's).
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { markerText, nowUs } from './loadgen/protocol.js';
import { SseScanner, type DeliverySink } from './loadgen/sse-scanner.js';
import { processTree } from './procstat.js';
import { freePort, nodeCommand, pubPath, readyPath, repoRoot, stopChild, subPath, waitReady, type TargetName } from './targets.js';

interface Options {
  targets: TargetName[];
  posts: number;
  warm: number;
  streams: number;
  viewers: number;
  connects: number;
}

const TARGETS: TargetName[] = ['sse-chat', 'nchan', 'raw-net'];
const USAGE = `usage: npm run bench:instructions -- [--targets ${TARGETS.join(',')}] [--posts N] [--warm N] [--streams N] [--viewers N] [--connects N]`;
/** Viewers per stream in the connect phase, as in idle (15,000 over 1,500 streams). */
const CONNECTS_PER_STREAM = 10;

function parseArgs(argv: string[]): Options {
  // 15,000 posts before counting: under callgrind, after 3,000 V8's optimising compiler was still
  // at work on its own threads (9,500 instructions per post there, 71,622 in all against 61,825
  // after 15,000) and the event loop still ran some functions as baseline code (62,089 against
  // 60,643).
  const options: Options = { targets: ['sse-chat', 'nchan'], posts: 5000, warm: 15000, streams: 50, viewers: 5, connects: 2000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const number = (min: number, max: number) => {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${arg} takes ${min}..${max}\n${USAGE}`);
      return value;
    };
    if (arg === '--targets') {
      options.targets = (argv[++i] ?? '').split(',').filter(Boolean) as TargetName[];
      const unknown = options.targets.filter((target) => !TARGETS.includes(target));
      if (unknown.length || options.targets.length === 0) throw new Error(`unknown target ${unknown.join(', ')}\n${USAGE}`);
    } else if (arg === '--posts') options.posts = number(100, 1_000_000);
    else if (arg === '--warm') options.warm = number(0, 1_000_000);
    else if (arg === '--streams') options.streams = number(1, 1000);
    else if (arg === '--viewers') options.viewers = number(1, 100);
    else if (arg === '--connects') options.connects = number(0, 15_000);
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  return options;
}

/** The `totals:` line of a callgrind output file: every event of the part it covers. */
export function callgrindTotal(text: string): number | null {
  const match = /^totals:\s+(\d+)/m.exec(text) ?? /^summary:\s+(\d+)/m.exec(text);
  return match ? Number(match[1]) : null;
}

/**
 * Instructions per process from one dump's files (`cg.<pid>.<dump>-<thread>` with
 * --separate-threads): the first thread's, the event loop of a Node server and the only thread of
 * an nginx process, and all threads' together (V8's compiler and GC helpers for Node).
 */
export function dumpTotals(files: { name: string; text: string }[], pid: number, dump = 1): { main: number; all: number } | null {
  let main: number | null = null;
  let all = 0;
  for (const { name, text } of files) {
    const match = /^cg\.(\d+)\.(\d+)-(\d+)$/.exec(name);
    if (!match || Number(match[1]) !== pid || Number(match[2]) !== dump) continue;
    const total = callgrindTotal(text) ?? 0;
    all += total;
    if (Number(match[3]) === 1) main = total;
  }
  return main === null ? null : { main, all };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
  });
}

/**
 * Viewers on every stream, read by the load generator's own SSE scanner (it finds the publisher's
 * marker in each message, through chunked encoding too), then posts one at a time on one
 * keep-alive connection.
 */
class Workload implements DeliverySink {
  private readonly sockets: net.Socket[] = [];
  private publisher: net.Socket | null = null;
  private answers = '';
  private onAnswer: ((status: number) => void) | null = null;
  private onFrames: (() => void) | null = null;
  private frames = 0;
  private seq = 0;

  constructor(
    private readonly target: TargetName,
    private readonly port: number,
    private readonly options: Options,
  ) {}

  onDelivery(): void {
    this.frames++;
    this.onFrames?.();
  }

  async open(): Promise<void> {
    await this.openViewers('cg', this.options.streams, this.options.viewers);
    const publisher = await connect(this.port);
    publisher.on('data', (chunk: Buffer) => {
      this.answers += chunk.toString('latin1');
      const headEnd = this.answers.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(this.answers.slice(0, headEnd))?.[1] ?? 0);
      if (this.answers.length < headEnd + 4 + length) return;
      const status = Number(this.answers.slice(9, 12));
      this.answers = this.answers.slice(headEnd + 4 + length);
      this.onAnswer?.(status);
    });
    this.publisher = publisher;
  }

  /** `perStream` viewers on each of `streams` streams named `<prefix>-<n>`, one at a time, each once its head is in. */
  async openViewers(prefix: string, streams: number, perStream: number): Promise<void> {
    for (let stream = 0; stream < streams; stream++) {
      for (let viewer = 0; viewer < perStream; viewer++) {
        const socket = await connect(this.port);
        const scanner = new SseScanner(this, 0);
        const headSeen = new Promise<void>((resolve, reject) => {
          socket.on('data', (chunk: Buffer) => {
            if (!scanner.feed(chunk, 0, chunk.length, 0)) reject(new Error(`the event stream answered ${scanner.status}`));
            else if (scanner.headDone) resolve();
          });
        });
        socket.write(`GET ${subPath(this.target, `${prefix}-${stream}`)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
        await headSeen;
        this.sockets.push(socket);
      }
    }
  }

  async post(count: number): Promise<void> {
    const { streams, viewers } = this.options;
    for (let k = 0; k < count; k++, this.seq++) {
      const stream = this.seq % streams;
      const body = JSON.stringify({ author: 'bench', text: markerText(this.seq, nowUs(), 0) });
      const framesBefore = this.frames;
      const answered = new Promise<number>((resolve) => (this.onAnswer = resolve));
      const delivered = new Promise<void>((resolve) => {
        this.onFrames = () => {
          if (this.frames >= framesBefore + viewers) resolve();
        };
      });
      this.publisher!.write(`POST ${pubPath(this.target, `cg-${stream}`)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      const status = await answered;
      if (status < 200 || status > 299) throw new Error(`post ${this.seq} answered ${status}`);
      await delivered;
    }
    this.onFrames = null;
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy();
    this.publisher?.destroy();
  }
}

interface Counted {
  target: TargetName;
  posts: number;
  mainPerPost: number;
  allPerPost: number;
  connects: number;
  /** Null when no connect phase ran (`--connects 0`). */
  mainPerConnect: number | null;
  allPerConnect: number | null;
}

function callgrindControl(action: '-z' | '-d', pid: number, env: NodeJS.ProcessEnv): void {
  // vgdb finds the process by a file named after USER and HOST: the server's environment names it.
  execFileSync('callgrind_control', [action, String(pid)], { env, stdio: 'ignore', timeout: 60_000 });
}

async function count(target: TargetName, options: Options, outDir: string): Promise<Counted> {
  const port = await freePort();
  const { command, args, env } = nodeCommand(target, port, 0, {});
  const valgrind = [
    '--tool=callgrind',
    `--callgrind-out-file=${outDir}/cg.%p`,
    '--separate-threads=yes',
    '--dump-instr=no',
    // nchan.sh execs nginx, whose master forks the worker; the shell's helpers need not be traced.
    '--trace-children=yes',
    '--trace-children-skip=*dpkg*,*/sed,*/awk,*/cp,*/mkdir,*/rm,*/dirname',
  ];
  const logPath = `${outDir}/${target}.log`;
  const logFd = openSync(logPath, 'w');
  const child = spawn('valgrind', [...valgrind, command, ...args], { env, stdio: ['ignore', logFd, logFd], cwd: repoRoot });
  closeSync(logFd);
  const workload = new Workload(target, port, options);
  try {
    await waitReady(child, port, readyPath(target), logPath, 180_000);
    await workload.open();
    await workload.post(options.warm);
    const pids = processTree(child.pid!);
    for (const pid of pids) callgrindControl('-z', pid, env);
    await workload.post(options.posts);
    for (const pid of pids) callgrindControl('-d', pid, env);
    if (options.connects > 0) {
      for (const pid of pids) callgrindControl('-z', pid, env);
      await workload.openViewers('cg-idle', Math.ceil(options.connects / CONNECTS_PER_STREAM), CONNECTS_PER_STREAM);
      for (const pid of pids) callgrindControl('-d', pid, env);
    }
    const files = readdirSync(outDir).map((name) => ({ name, text: name.startsWith('cg.') ? readFileSync(`${outDir}/${name}`, 'utf8') : '' }));
    const sum = (dump: number) => {
      let main = 0;
      let all = 0;
      for (const pid of pids) {
        const totals = dumpTotals(files, pid, dump);
        if (!totals) throw new Error(`no callgrind dump ${dump} for process ${pid}`);
        main += totals.main;
        all += totals.all;
      }
      return { main, all };
    };
    const posts = sum(1);
    const connected = options.connects > 0 ? Math.ceil(options.connects / CONNECTS_PER_STREAM) * CONNECTS_PER_STREAM : 0;
    const connects = connected > 0 ? sum(2) : null;
    return {
      target,
      posts: options.posts,
      mainPerPost: Math.round(posts.main / options.posts),
      allPerPost: Math.round(posts.all / options.posts),
      connects: connected,
      mainPerConnect: connects && Math.round(connects.main / connected),
      allPerConnect: connects && Math.round(connects.all / connected),
    };
  } finally {
    workload.close();
    await stopChild(child);
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('valgrind is not installed (Debian: apt-get install valgrind)');
  }
  const runDir = `${repoRoot}bench/results/instructions-${Date.now().toString(36)}`;
  console.log(`${options.streams} streams x ${options.viewers} viewers; ${options.warm} posts to warm up, then ${options.posts} counted, one at a time; then ${options.connects} more viewers, ${CONNECTS_PER_STREAM} per stream, one at a time; valgrind callgrind, user space only`);
  const results: Counted[] = [];
  for (const target of options.targets) {
    const outDir = `${runDir}/${target}`;
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    process.stdout.write(`${target} ... `);
    const started = Date.now();
    const result = await count(target, options, outDir);
    results.push(result);
    console.log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const peer = results.find((result) => result.target === 'nchan');
  console.log(`\n${'target'.padEnd(10)} ${'event loop / post'.padStart(18)} ${'all threads / post'.padStart(19)} ${'vs nchan (event loop)'.padStart(22)}`);
  for (const result of results) {
    const ratio = peer && result !== peer ? (result.mainPerPost / peer.mainPerPost).toFixed(2) : '-';
    console.log(`${result.target.padEnd(10)} ${result.mainPerPost.toLocaleString('en-US').padStart(18)} ${result.allPerPost.toLocaleString('en-US').padStart(19)} ${ratio.padStart(22)}`);
  }
  if (options.connects > 0) {
    console.log(`\n${'target'.padEnd(10)} ${'event loop / viewer'.padStart(20)} ${'all threads / viewer'.padStart(21)} ${'vs nchan (event loop)'.padStart(22)}`);
    for (const result of results) {
      const ratio = peer?.mainPerConnect && result !== peer ? (result.mainPerConnect! / peer.mainPerConnect).toFixed(2) : '-';
      console.log(`${result.target.padEnd(10)} ${result.mainPerConnect!.toLocaleString('en-US').padStart(20)} ${result.allPerConnect!.toLocaleString('en-US').padStart(21)} ${ratio.padStart(22)}`);
    }
  }
  console.log(JSON.stringify({ scenario: 'instructions', options, results }));
  console.log(`\ncallgrind files and server logs: ${runDir}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
