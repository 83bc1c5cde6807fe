// The native subscriber (sse-subscriber.c): built with the system C compiler on first use into
// dist/, then driven over its stdin/stdout line protocol with the same calls as the Node worker.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AwaitArgs, AwaitResult, ConnectArgs, ConnectResult, HistogramData, SubscriberStats } from './protocol.js';

const BUCKETS = 256 + 23 * 128; // histogram.ts's layout

const source = fileURLToPath(new URL('../../../bench/loadgen/sse-subscriber.c', import.meta.url));
const binary = fileURLToPath(new URL('./sse-subscriber', import.meta.url));

/** Compiles the native subscriber if it is missing or older than its source; null when no compiler works. */
export function buildNativeSubscriber(): { path: string } | { error: string } {
  try {
    if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
      mkdirSync(dirname(binary), { recursive: true });
      execFileSync('cc', ['-O2', '-o', binary, source], { stdio: ['ignore', 'pipe', 'pipe'] });
    }
    return { path: binary };
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return { error: stderr || (error as Error).message };
  }
}

export class NativeSubscriber {
  private readonly child: ChildProcess;
  private readonly waiting: { resolve(line: string): void; reject(error: Error): void }[] = [];
  private pending = '';
  /** Why it can answer no more (it exited), or null while it runs. */
  private gone: string | null = null;

  constructor(path: string) {
    this.child = spawn(path, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.setEncoding('latin1');
    this.child.stdout!.on('data', (text: string) => {
      this.pending += text;
      let newline: number;
      while ((newline = this.pending.indexOf('\n')) >= 0) {
        const line = this.pending.slice(0, newline);
        this.pending = this.pending.slice(newline + 1);
        const waiter = this.waiting.shift();
        if (!waiter) continue;
        if (line.startsWith('OK')) waiter.resolve(line.slice(2).trim());
        else waiter.reject(new Error(`native subscriber: ${line}`));
      }
    });
    // A call made after it exited would wait for an answer forever, and its write would fail with
    // EPIPE and no listener, taking the runner down (seen with a peer that made it exit).
    this.child.stdin!.on('error', () => {});
    this.child.on('exit', (code, signal) => {
      this.gone = `native subscriber exited (${code ?? signal})`;
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(this.gone));
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  private send(text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.gone !== null) return reject(new Error(this.gone));
      this.waiting.push({ resolve, reject });
      this.child.stdin!.write(text);
    });
  }

  async connect({ specs, concurrency, timeoutMs }: ConnectArgs): Promise<ConnectResult> {
    const lines = specs.map((spec) => `${spec.port} ${spec.stream} ${spec.node} ${spec.path}\n`).join('');
    const reply = await this.send(`C ${concurrency} ${timeoutMs} ${specs.length}\n${lines}`);
    const [established, failed, firstStartUs, lastEstablishedUs, ...error] = reply.split(' ');
    return {
      established: Number(established),
      failed: Number(failed),
      firstStartUs: Number(firstStartUs),
      lastEstablishedUs: Number(lastEstablishedUs),
      errors: error.length && error.join(' ') ? [error.join(' ')] : [],
    };
  }

  async reset(): Promise<void> {
    await this.send('R\n');
  }

  async awaitDelivery({ expected, timeoutMs, stallMs }: AwaitArgs): Promise<AwaitResult> {
    const reply = await this.send(`A ${timeoutMs} ${stallMs} ${expected.length} ${expected.join(' ')}\n`);
    const [complete, lastDeliveryUs] = reply.split(' ');
    return { complete: complete === '1', lastDeliveryUs: Number(lastDeliveryUs) };
  }

  async stats(window: number[]): Promise<SubscriberStats & { expected: number }> {
    const reply = await this.send(`S ${window.length} ${window.join(' ')}\n`);
    const words = reply.split(' ');
    const [connections, expected, delivered, duplicates, outOfOrder, closed, lastDeliveryUs, maxUs, crossMaxUs] = words.map(Number);
    let at = 9;
    const histogram = (maxValue: number): HistogramData => {
      at++; // the H or X marker
      const counts = new Float64Array(BUCKETS);
      const entries = Number(words[at++]);
      for (let i = 0; i < entries; i++) {
        const [index, count] = words[at++]!.split(':').map(Number);
        counts[index!] = count!;
      }
      return { counts, maxUs: maxValue };
    };
    const latency = histogram(maxUs!);
    const crossNode = histogram(crossMaxUs!);
    return {
      connections: connections!,
      expected: expected!,
      delivered: delivered!,
      duplicates: duplicates!,
      outOfOrder: outOfOrder!,
      closed: closed!,
      lastDeliveryUs: lastDeliveryUs!,
      latency,
      crossNode,
    };
  }

  async closeConnections(): Promise<void> {
    await this.send('Q\n');
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
