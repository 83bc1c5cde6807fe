// Request/answer over a forked child's IPC channel: the orchestrator drives its load-generator
// workers with a handful of commands and waits for each answer.
import { fork, type ChildProcess } from 'node:child_process';

interface Request {
  id: number;
  command: string;
  args: unknown;
}
interface Answer {
  id: number;
  result?: unknown;
  error?: string;
}

export type Handlers = Record<string, (args: never) => unknown>;

/** In a worker: answers the parent's requests with `handlers`, and exits when the parent goes. */
export function serveParent(handlers: Handlers): void {
  process.on('message', (raw) => {
    const request = raw as Request;
    const handler = handlers[request.command] as ((args: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${request.command}`);
        return handler(request.args);
      })
      .then(
        (result) => process.send?.({ id: request.id, result } satisfies Answer),
        (error: unknown) => process.send?.({ id: request.id, error: String((error as Error)?.stack ?? error) } satisfies Answer),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

/** In the orchestrator: a forked worker module and a promise per request. */
export class WorkerClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  readonly child: ChildProcess;
  /** Why it can answer no more (it exited), or null while it runs. */
  private gone: string | null = null;

  constructor(modulePath: string, name: string) {
    // 'advanced' serialization carries typed arrays (latency histograms) without JSON.
    this.child = fork(modulePath, [name], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (raw) => {
      const answer = raw as Answer;
      const waiter = this.waiting.get(answer.id);
      if (!waiter) return;
      this.waiting.delete(answer.id);
      if (answer.error !== undefined) waiter.reject(new Error(`${name}: ${answer.error}`));
      else waiter.resolve(answer.result);
    });
    this.child.on('exit', (code, signal) => {
      this.gone = `${name} exited (${code ?? signal})`;
      for (const waiter of this.waiting.values()) waiter.reject(new Error(this.gone));
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  call<T>(command: string, args: unknown = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      // After it exited the request would wait forever, and send() would raise an 'error' with no
      // listener (the channel is closed).
      if (this.gone !== null) return reject(new Error(this.gone));
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, command, args } satisfies Request, (error) => {
        if (!error || !this.waiting.delete(id)) return;
        reject(error);
      });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
