// A subscriber worker process: opens SSE connections with raw `net` sockets, feeds every read to
// a per-connection SseScanner, and keeps delivery counts and latency histograms. Reads land in
// one shared buffer (`onread`), so a read allocates nothing.
import net from 'node:net';
import { LatencyHistogram } from './histogram.js';
import {
  nowUs,
  sourceAddress,
  type AwaitArgs,
  type AwaitResult,
  type ConnectArgs,
  type ConnectResult,
  type ConnectSpec,
  type SubscriberStats,
} from './protocol.js';
import { serveParent } from './rpc.js';
import { SseScanner, type DeliverySink } from './sse-scanner.js';

interface Connection {
  spec: ConnectSpec;
  socket: net.Socket;
  scanner: SseScanner;
  established: boolean;
  receivedAtReset: number;
}

const readBuffer = Buffer.allocUnsafe(256 * 1024);
const connections: Connection[] = [];
let closedAfterEstablished = 0;

/** Latency of every delivery this worker sees, and when the last one arrived. */
class WorkerSink implements DeliverySink {
  readonly latency = new LatencyHistogram();
  readonly crossNode = new LatencyHistogram();
  lastDeliveryUs = 0;

  onDelivery(sendUs: number, fromNode: number, toNode: number, readUs: number): void {
    const latencyUs = readUs - sendUs;
    this.latency.record(latencyUs);
    if (fromNode !== toNode) this.crossNode.record(latencyUs);
    if (readUs > this.lastDeliveryUs) this.lastDeliveryUs = readUs;
  }
}

const sink = new WorkerSink();

function requestFor(spec: ConnectSpec): string {
  return `GET ${spec.path} HTTP/1.1\r\nHost: 127.0.0.1:${spec.port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`;
}

function connect({ specs, concurrency, timeoutMs }: ConnectArgs): Promise<ConnectResult> {
  const result: ConnectResult = { established: 0, failed: 0, firstStartUs: nowUs(), lastEstablishedUs: 0, errors: [] };
  if (specs.length === 0) return Promise.resolve(result);
  return new Promise((resolve) => {
    let next = 0;
    let inFlight = 0;
    let settled = 0;
    const fail = (reason: string) => {
      result.failed++;
      if (result.errors.length < 5) result.errors.push(reason);
    };
    const openNext = () => {
      while (inFlight < concurrency && next < specs.length) {
        inFlight++;
        open(specs[next]!, next++, (error) => {
          inFlight--;
          settled++;
          if (error) fail(error);
          else {
            result.established++;
            result.lastEstablishedUs = nowUs();
          }
          if (settled === specs.length) resolve(result);
          else openNext();
        });
      }
    };
    const open = (spec: ConnectSpec, index: number, done: (error?: string) => void) => {
      let finished = false;
      const finish = (error?: string) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        done(error);
      };
      const scanner = new SseScanner(sink, spec.node);
      const connection: Connection = { spec, socket: null as unknown as net.Socket, scanner, established: false, receivedAtReset: 0 };
      const socket = net.connect({
        port: spec.port,
        host: '127.0.0.1',
        localAddress: sourceAddress(index),
        onread: {
          buffer: readBuffer,
          callback: (bytes: number, buffer: Uint8Array) => {
            if (!scanner.feed(buffer, 0, bytes, nowUs())) {
              socket.destroy();
              finish(`HTTP ${scanner.status}`);
              return false;
            }
            if (!connection.established && scanner.headDone) {
              connection.established = true;
              connections.push(connection);
              finish();
            }
            return true;
          },
        },
      });
      connection.socket = socket;
      socket.setNoDelay(true);
      socket.on('connect', () => socket.write(requestFor(spec)));
      socket.on('error', (error) => finish(error.message));
      socket.on('close', () => {
        if (connection.established) closedAfterEstablished++;
        finish('closed before the response head');
      });
      const timer = setTimeout(() => {
        socket.destroy();
        finish('timed out');
      }, timeoutMs);
    };
    openNext();
  });
}

function reset(): void {
  sink.latency.reset();
  sink.crossNode.reset();
  for (const connection of connections) connection.receivedAtReset = connection.scanner.received;
}

function awaitDelivery({ expected, timeoutMs, stallMs }: AwaitArgs): Promise<AwaitResult> {
  const started = Date.now();
  let lastProgress = started;
  let lastTotal = -1;
  return new Promise((resolve) => {
    const check = () => {
      let total = 0;
      let complete = true;
      for (const connection of connections) {
        const received = connection.scanner.received;
        total += received;
        if (received < (expected[connection.spec.stream] ?? 0)) complete = false;
      }
      const now = Date.now();
      if (total !== lastTotal) {
        lastTotal = total;
        lastProgress = now;
      }
      if (complete || now - lastProgress > stallMs || now - started > timeoutMs) {
        resolve({ complete, lastDeliveryUs: sink.lastDeliveryUs });
      } else setTimeout(check, 20);
    };
    check();
  });
}

/** `window[stream]`: posts that succeeded this window, so each connection expects that many. */
function stats({ window }: { window: number[] }): SubscriberStats & { expected: number } {
  let expected = 0;
  let delivered = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  for (const connection of connections) {
    expected += window[connection.spec.stream] ?? 0;
    delivered += connection.scanner.received - connection.receivedAtReset;
    duplicates += connection.scanner.duplicates;
    outOfOrder += connection.scanner.outOfOrder;
  }
  return {
    connections: connections.length,
    expected,
    delivered,
    duplicates,
    outOfOrder,
    closed: closedAfterEstablished,
    latency: { counts: sink.latency.counts, maxUs: sink.latency.maxUs },
    crossNode: { counts: sink.crossNode.counts, maxUs: sink.crossNode.maxUs },
    lastDeliveryUs: sink.lastDeliveryUs,
  };
}

function closeAll(): number {
  const count = connections.length;
  // A reset leaves no TIME_WAIT behind, so thousands of ports are free again for the next run.
  for (const connection of connections) {
    connection.established = false;
    connection.socket.resetAndDestroy();
  }
  connections.length = 0;
  closedAfterEstablished = 0;
  return count;
}

serveParent({
  connect,
  reset,
  await: awaitDelivery,
  stats,
  close: closeAll,
  cpu: () => process.cpuUsage(),
});
