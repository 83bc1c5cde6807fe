// The orchestrator's handle on the load generator: one or more subscriber processes (the native
// epoll one by default, the Node one as a fallback) and one publisher process, all started from
// the orchestrator and so pinned to its core.
import { LatencyHistogram } from './histogram.js';
import { NativeSubscriber } from './native.js';
import type {
  AwaitArgs,
  AwaitResult,
  ConnectArgs,
  ConnectResult,
  ConnectSpec,
  PublishPlan,
  PublishResult,
  SubscriberStats,
} from './protocol.js';
import { WorkerClient } from './rpc.js';

/** What the orchestrator asks of a subscriber process, whichever kind it is. */
interface SubscriberProcess {
  readonly pid: number;
  connect(args: ConnectArgs): Promise<ConnectResult>;
  reset(): Promise<void>;
  awaitDelivery(args: AwaitArgs): Promise<AwaitResult>;
  stats(window: number[]): Promise<SubscriberStats & { expected: number }>;
  closeConnections(): Promise<void>;
  close(): Promise<void>;
}

/** subscriber.ts in a forked Node process. */
class NodeSubscriber implements SubscriberProcess {
  private readonly worker: WorkerClient;
  constructor(name: string) {
    this.worker = new WorkerClient(new URL('./subscriber.js', import.meta.url).pathname, name);
  }
  get pid(): number {
    return this.worker.pid;
  }
  connect(args: ConnectArgs) {
    return this.worker.call<ConnectResult>('connect', args);
  }
  async reset() {
    await this.worker.call('reset');
  }
  awaitDelivery(args: AwaitArgs) {
    return this.worker.call<AwaitResult>('await', args);
  }
  stats(window: number[]) {
    return this.worker.call<SubscriberStats & { expected: number }>('stats', { window });
  }
  async closeConnections() {
    await this.worker.call('close');
  }
  close() {
    return this.worker.close();
  }
}

export type SubscriberKind = { kind: 'native'; path: string } | { kind: 'node' };

export interface ConnectSummary {
  requested: number;
  established: number;
  failed: number;
  /** From the first connect to the last response head, across all workers. */
  setupMs: number;
  errors: string[];
}

export interface DeliverySummary {
  complete: boolean;
  expected: number;
  delivered: number;
  duplicates: number;
  outOfOrder: number;
  closed: number;
  connections: number;
  latency: LatencyHistogram;
  crossNode: LatencyHistogram;
  lastDeliveryUs: number;
}

export class LoadGenerator {
  private constructor(
    private readonly subscribers: SubscriberProcess[],
    private readonly publisher: WorkerClient,
  ) {}

  static start(subscriberWorkers: number, kind: SubscriberKind): LoadGenerator {
    const publisherModule = new URL('./publisher.js', import.meta.url).pathname;
    const subscribers = Array.from({ length: subscriberWorkers }, (_, i) =>
      kind.kind === 'native' ? new NativeSubscriber(kind.path) : new NodeSubscriber(`subscriber-${i}`),
    );
    return new LoadGenerator(subscribers, new WorkerClient(publisherModule, 'publisher'));
  }

  pids(): number[] {
    return [...this.subscriberPids(), this.publisher.pid];
  }

  /** The processes that read the viewers' sockets: a delay of theirs is latency as measured. */
  subscriberPids(): number[] {
    return this.subscribers.map((worker) => worker.pid);
  }

  /** Spreads the connections round-robin over the workers; each opens its share concurrently. */
  async connect(specs: ConnectSpec[], concurrency: number, timeoutMs = 30000): Promise<ConnectSummary> {
    const shares = this.subscribers.map(() => [] as ConnectSpec[]);
    specs.forEach((spec, i) => shares[i % shares.length]!.push(spec));
    const perWorker = Math.max(1, Math.floor(concurrency / this.subscribers.length));
    const results = await Promise.all(
      this.subscribers.map((worker, i) => worker.connect({ specs: shares[i]!, concurrency: perWorker, timeoutMs })),
    );
    const started = Math.min(...results.map((r) => r.firstStartUs));
    const finished = Math.max(...results.map((r) => r.lastEstablishedUs));
    return {
      requested: specs.length,
      established: results.reduce((sum, r) => sum + r.established, 0),
      failed: results.reduce((sum, r) => sum + r.failed, 0),
      setupMs: finished > 0 ? (finished - started) / 1000 : NaN,
      errors: [...new Set(results.flatMap((r) => r.errors))].slice(0, 5),
    };
  }

  async reset(): Promise<void> {
    await Promise.all(this.subscribers.map((worker) => worker.reset()));
  }

  publish(plan: PublishPlan): Promise<PublishResult> {
    return this.publisher.call<PublishResult>('run', plan);
  }

  /**
   * Waits until every connection saw `cumulative[stream]` distinct messages (or a stall or the
   * timeout), then sums what was delivered since the last reset; `window[stream]` is what this
   * window published, so the expected count is per established connection.
   */
  async awaitDelivery(cumulative: number[], window: number[], timeoutMs: number, stallMs: number): Promise<DeliverySummary> {
    const waits = await Promise.all(
      this.subscribers.map((worker) => worker.awaitDelivery({ expected: cumulative, timeoutMs, stallMs })),
    );
    const stats = await Promise.all(this.subscribers.map((worker) => worker.stats(window)));
    const latency = new LatencyHistogram();
    const crossNode = new LatencyHistogram();
    for (const s of stats) {
      latency.merge(s.latency);
      crossNode.merge(s.crossNode);
    }
    return {
      complete: waits.every((w) => w.complete),
      expected: stats.reduce((sum, s) => sum + s.expected, 0),
      delivered: stats.reduce((sum, s) => sum + s.delivered, 0),
      duplicates: stats.reduce((sum, s) => sum + s.duplicates, 0),
      outOfOrder: stats.reduce((sum, s) => sum + s.outOfOrder, 0),
      closed: stats.reduce((sum, s) => sum + s.closed, 0),
      connections: stats.reduce((sum, s) => sum + s.connections, 0),
      latency,
      crossNode,
      lastDeliveryUs: Math.max(...stats.map((s) => s.lastDeliveryUs)),
    };
  }

  async closeConnections(): Promise<void> {
    await Promise.all(this.subscribers.map((worker) => worker.closeConnections()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscribers, this.publisher].map((worker) => worker.close()));
  }
}
