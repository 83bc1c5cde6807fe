// What the orchestrator and its load-generator workers say to each other, and the one clock
// they share.

/**
 * Microseconds on CLOCK_MONOTONIC, which every process on the machine reads alike: the publisher
 * stamps a message with it and a subscriber in another process subtracts it from its read time.
 */
export function nowUs(): number {
  const [seconds, nanos] = process.hrtime();
  return seconds * 1e6 + nanos / 1e3;
}

/** The text the publisher posts; the subscriber's scanner finds it inside the `data:` line. */
export function markerText(seq: number, sendUs: number, node: number): string {
  return `|${seq}|${Math.round(sendUs)}|${node}|`;
}

/**
 * Subscribers connect from 127.0.0.1 up to 127.0.0.<this>, the connection's index choosing: from
 * one source address to one server port, the kernel's ephemeral port search slows every connect
 * past ~14,000 connections. sse-subscriber.c's SOURCE_ADDRESSES is the same number.
 */
export const SOURCE_ADDRESSES = 16;

/** The loopback address connection number `index` connects from. */
export function sourceAddress(index: number): string {
  return `127.0.0.${1 + (index % SOURCE_ADDRESSES)}`;
}

/** One SSE subscription to open. */
export interface ConnectSpec {
  port: number;
  /** Request path, e.g. /streams/<name>/events or /sub/<name>. */
  path: string;
  /** Index of the stream in the scenario's stream table (expected counts are per index). */
  stream: number;
  /** Index of the server node the connection goes to (cross-node latency). */
  node: number;
}

export interface ConnectArgs {
  specs: ConnectSpec[];
  /** Handshakes in flight at once: below the servers' listen backlog, so no SYN is dropped. */
  concurrency: number;
  timeoutMs: number;
}

export interface ConnectResult {
  established: number;
  failed: number;
  firstStartUs: number;
  lastEstablishedUs: number;
  errors: string[];
}

export interface AwaitArgs {
  /** Cumulative successful posts per stream index; a connection is done when it saw that many. */
  expected: number[];
  timeoutMs: number;
  /** Give up early when no connection made progress for this long. */
  stallMs: number;
}

export interface AwaitResult {
  complete: boolean;
  lastDeliveryUs: number;
}

export interface HistogramData {
  counts: Float64Array;
  maxUs: number;
}

export interface SubscriberStats {
  connections: number;
  /** Distinct messages delivered since the last reset. */
  delivered: number;
  duplicates: number;
  outOfOrder: number;
  /** Connections the server closed (or that failed) after being established. */
  closed: number;
  latency: HistogramData;
  /** Latency of messages posted to another node than the viewer's. */
  crossNode: HistogramData;
  lastDeliveryUs: number;
}

export interface PublishTarget {
  port: number;
  node: number;
}

export interface PublishPlan {
  targets: PublishTarget[];
  /** POST path per stream index. */
  paths: string[];
  /**
   * paced: message i leaves at start + i/rate, to stream i % streams and target i % targets;
   * closed: each connection posts its next message when the previous one is answered.
   */
  mode: 'paced' | 'closed';
  rate: number;
  durationMs: number;
  connectionsPerTarget: number;
  /** Pipelined requests allowed per connection (paced mode) before the publisher queues locally. */
  maxInFlight: number;
  /** How long to wait for outstanding answers after the last send. */
  drainMs: number;
  /**
   * Paced mode: connections left idle at the end stay open for the next run to the same port, so
   * that a window measured in slices (rooms) opens its connections once, not at every slice.
   */
  keepConnections?: boolean;
}

export interface PublishResult {
  /** Successful posts this run, per stream index. */
  okPerStream: number[];
  sent: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  errors: string[];
  firstSendUs: number;
  lastSendUs: number;
  lastAnswerUs: number;
  /** Most requests waiting in the publisher for a free connection at once (paced mode). */
  maxQueued: number;
  /** How late the paced sends left, worst case, in ms (publisher-side scheduling lag). */
  maxLagMs: number;
}
