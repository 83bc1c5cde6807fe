// The measurements every scenario is made of: open the viewers (setup time, memory per
// connection), then publish for a window and wait for every delivery (latency, throughput, CPU
// per delivery of the server and of the load generator). Figures are flat records of numbers whose
// names carry their units, so the report can divide any of them sse-chat / peer.
import { LatencyHistogram } from './loadgen/histogram.js';
import type { DeliverySummary, LoadGenerator } from './loadgen/loadgen.js';
import { nowUs, type ConnectSpec, type PublishPlan, type PublishResult } from './loadgen/protocol.js';
import { cpuSeconds, machineTimes, rssBytes, runQueueWaitSeconds, sinceStart } from './procstat.js';
import { raisePriority, REALTIME_PRIORITY_ABOVE, restorePriority } from './realtime.js';
import type { RunningServer } from './targets.js';

export type Figures = Record<string, number>;

export interface TargetContext {
  server: RunningServer;
  loadgen: LoadGenerator;
  /** Stream names of this target's run, fresh each run; indexes are what specs and plans use. */
  streams: string[];
  /** Successful posts so far per stream index (what each viewer must have seen). */
  cumulative: number[];
  /** Processes shared by the nodes (the Redis Cluster), measured apart from the servers. */
  sharedPids: () => number[];
  notes: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 3) => (Number.isFinite(value) ? Number(value.toPrecision(digits)) : NaN);
const SERVER_EXITED = 'a server process exited during the measurement: its CPU and wait figures are not given';

function noteServerExited(ctx: Pick<TargetContext, 'notes'>): void {
  if (!ctx.notes.includes(SERVER_EXITED)) ctx.notes.push(SERVER_EXITED);
}

/**
 * sinceStart for a target's own processes (its server, its load generator), of which there is
 * always one at least: none means they had exited before the measurement began (between a turn's
 * slices, say), and the time they spent is not known either.
 */
export function targetSinceStart(pids: number[], before: number, read: (pids: number[]) => number): number {
  return pids.length === 0 ? NaN : sinceStart(pids, before, read);
}

/** Every viewer of stream i, spread over the server's nodes in turn. */
export function viewerSpecs(ctx: TargetContext, viewersPerStream: number): ConnectSpec[] {
  const specs: ConnectSpec[] = [];
  const ports = ctx.server.ports;
  for (let v = 0; v < viewersPerStream; v++) {
    ctx.streams.forEach((stream, index) => {
      const node = (index + v) % ports.length;
      specs.push({ port: ports[node]!, path: ctx.server.subPath(stream), stream: index, node });
    });
  }
  return specs;
}

/** Opens the viewers; figures: connections, setup time, server memory and CPU per connection. */
export async function connectViewers(ctx: TargetContext, specs: ConnectSpec[], settleMs = 1000): Promise<Figures> {
  const pids = ctx.server.pids();
  const loadgenPids = ctx.loadgen.pids();
  const rssBefore = rssBytes(pids);
  const cpuBefore = cpuSeconds(pids);
  const loadgenCpuBefore = cpuSeconds(loadgenPids);
  const waitBefore = runQueueWaitSeconds(pids);
  const machineBefore = machineTimes();
  // Handshakes in flight stay under the servers' listen backlog (511), so no SYN is dropped and
  // retried a second later: setup time measures the server, not the kernel's retry timer.
  const summary = await ctx.loadgen.connect(specs, 384);
  // CPU is read right after the last connection is up; memory after a settle.
  const setupCpu = targetSinceStart(pids, cpuBefore, cpuSeconds);
  const loadgenSetupCpu = targetSinceStart(loadgenPids, loadgenCpuBefore, cpuSeconds);
  const setupWait = targetSinceStart(pids, waitBefore, runQueueWaitSeconds);
  const machineAfter = machineTimes();
  const otherSetupCpu = Math.max(0, machineAfter.busy - machineBefore.busy - setupCpu - loadgenSetupCpu);
  const setupS = Math.max(0.001, summary.setupMs / 1000);
  await sleep(settleMs);
  const after = ctx.server.pids();
  const rssAfter = rssBytes(after);
  const established = Math.max(1, summary.established);
  if (summary.failed) ctx.notes.push(`${summary.failed} connections failed: ${summary.errors.join('; ')}`);
  if (Number.isNaN(setupCpu)) noteServerExited(ctx);
  return {
    connections: summary.established,
    connect_failures: summary.failed,
    setup_ms: round(summary.setupMs, 4),
    server_rss_mb: round(rssAfter / 2 ** 20),
    rss_per_conn_kb: round((rssAfter - rssBefore) / 1024 / established),
    setup_cpu_us_per_conn: round((setupCpu * 1e6) / established),
    // The client's share: on loopback most of each TCP handshake runs in the connecting process.
    loadgen_setup_cpu_us_per_conn: round((loadgenSetupCpu * 1e6) / established),
    setup_other_cpu_pct: round((100 * otherSetupCpu) / setupS),
    setup_steal_pct: round((100 * (machineAfter.steal - machineBefore.steal)) / setupS),
    setup_server_wait_ms: round(setupWait * 1000),
  };
}

/**
 * Runs `measure` with the server's processes and the load generator's at real-time priority (see
 * realtime.ts), and puts them back after; where that is not allowed, at normal priority with a
 * note. The subscribers above the publisher, which shares their core: a frame is read as it
 * arrives, not after the publisher's turn.
 */
export async function atRealtimePriority<T>(ctx: TargetContext, measure: () => Promise<T>): Promise<T> {
  const subscribers = ctx.loadgen.subscriberPids();
  const others = [...ctx.server.pids(), ...ctx.loadgen.pids().filter((pid) => !subscribers.includes(pid))];
  const all = [...subscribers, ...others];
  const failure = raisePriority(subscribers, REALTIME_PRIORITY_ABOVE) ?? raisePriority(others);
  if (failure) {
    // All or none: the note must hold for every process.
    restorePriority(all);
    const note = `${failure}: measured at normal priority`;
    // Once, though a window taken in slices asks at every slice.
    if (!ctx.notes.includes(note)) ctx.notes.push(note);
  }
  try {
    return await measure();
  } finally {
    restorePriority(all);
  }
}

export interface WindowOptions {
  /** Longest wait for the last delivery after the last post. */
  drainTimeoutMs: number;
  /** Stop waiting when nothing arrived for this long. */
  stallMs: number;
}

/** What one window measured, raw: windows of one target (slices) add up before figures are made. */
export interface WindowSample {
  published: PublishResult;
  delivery: DeliverySummary;
  wallS: number;
  serverCpu: number;
  loadgenCpu: number;
  serverWait: number;
  subscriberWait: number;
  sharedCpu: number;
  otherCpu: number;
  stealCpu: number;
  /** Shared processes were measured (cross-node's Redis Cluster). */
  shared: boolean;
}

/** Publishes `plan` and waits for every viewer to get every message; the window's figures. */
export async function measureWindow(ctx: TargetContext, plan: PublishPlan, options: WindowOptions): Promise<Figures> {
  return windowFigures(ctx, [await sampleWindow(ctx, plan, options)]);
}

/** Publishes `plan`, waits for every delivery, and reads what the window cost. */
export async function sampleWindow(ctx: TargetContext, plan: PublishPlan, options: WindowOptions): Promise<WindowSample> {
  const serverPids = ctx.server.pids();
  const loadgenPids = ctx.loadgen.pids();
  await ctx.loadgen.reset();
  const subscriberPids = ctx.loadgen.subscriberPids();
  const serverCpuBefore = cpuSeconds(serverPids);
  const loadgenCpuBefore = cpuSeconds(loadgenPids);
  const serverWaitBefore = runQueueWaitSeconds(serverPids);
  const subscriberWaitBefore = runQueueWaitSeconds(subscriberPids);
  const sharedPids = ctx.sharedPids();
  const sharedCpuBefore = cpuSeconds(sharedPids);
  const machineBefore = machineTimes();
  const startUs = nowUs();

  const published = await ctx.loadgen.publish(plan);
  published.okPerStream.forEach((ok, stream) => (ctx.cumulative[stream] = (ctx.cumulative[stream] ?? 0) + ok));
  const delivery = await ctx.loadgen.awaitDelivery(ctx.cumulative, published.okPerStream, options.drainTimeoutMs, options.stallMs);

  const endUs = nowUs();
  const serverCpu = targetSinceStart(serverPids, serverCpuBefore, cpuSeconds);
  const loadgenCpu = targetSinceStart(loadgenPids, loadgenCpuBefore, cpuSeconds);
  // Whatever else ran on the machine meanwhile (other test suites, the orchestrator, kernel
  // threads): latency and throughput are only as good as this is small.
  const sharedCpu = sinceStart(sharedPids, sharedCpuBefore, cpuSeconds);
  const machineAfter = machineTimes();
  return {
    published,
    delivery,
    wallS: (endUs - startUs) / 1e6,
    serverCpu,
    loadgenCpu,
    // The latency tail's other source: time the server, or the subscriber reading its sockets, was
    // ready but its core was running something else (helper threads, other processes, a stolen core).
    serverWait: targetSinceStart(serverPids, serverWaitBefore, runQueueWaitSeconds),
    subscriberWait: targetSinceStart(subscriberPids, subscriberWaitBefore, runQueueWaitSeconds),
    sharedCpu,
    otherCpu: Math.max(0, machineAfter.busy - machineBefore.busy - serverCpu - loadgenCpu - sharedCpu),
    // Time the hypervisor gave this VM's cores to other guests: a stolen core stalls whatever runs
    // on it, so latency tails move with this however lean the server is.
    stealCpu: machineAfter.steal - machineBefore.steal,
    shared: sharedPids.length > 0,
  };
}

/** The figures of one window, or of one target's slices of a window taken together. */
export function windowFigures(ctx: Pick<TargetContext, 'notes'>, samples: WindowSample[]): Figures {
  const sum = (value: (sample: WindowSample) => number) => samples.reduce((total, sample) => total + value(sample), 0);
  const latencyHistogram = new LatencyHistogram();
  const crossNodeHistogram = new LatencyHistogram();
  const statuses: Record<string, number> = {};
  for (const { delivery, published } of samples) {
    latencyHistogram.merge(delivery.latency);
    crossNodeHistogram.merge(delivery.crossNode);
    for (const [status, count] of Object.entries(published.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  }
  const latency = latencyHistogram.summary();
  const crossNode = crossNodeHistogram.summary();
  const ok = sum((s) => s.published.ok);
  const failed = sum((s) => s.published.failed);
  const expected = sum((s) => s.delivery.expected);
  const delivered = sum((s) => s.delivery.delivered);
  const closed = sum((s) => s.delivery.closed);
  const wallS = sum((s) => s.wallS);
  const serverCpu = sum((s) => s.serverCpu);
  const loadgenCpu = sum((s) => s.loadgenCpu);
  const otherCpu = sum((s) => s.otherCpu);
  const stealCpu = sum((s) => s.stealCpu);
  // A window with nothing answered or delivered (its server gone) ends at 0, before it began: no
  // span, and no rate, rather than a negative one.
  const spanS = sum((s) => Math.max(0, Math.max(s.delivery.lastDeliveryUs, s.published.lastAnswerUs) - s.published.firstSendUs) / 1e6);
  const answerSpanS = sum((s) => Math.max(0, s.published.lastAnswerUs - s.published.firstSendUs) / 1e6);

  if (failed) {
    const errors = [...new Set(samples.flatMap((s) => s.published.errors))].slice(0, 5);
    ctx.notes.push(`${failed} posts failed: ${JSON.stringify(statuses)} ${errors.join('; ')}`);
  }
  if (!samples.every((s) => s.delivery.complete)) ctx.notes.push(`delivery incomplete: ${delivered} of ${expected} after the drain wait`);
  if (closed) ctx.notes.push(`${closed} viewers were disconnected by the server`);
  if (Number.isNaN(serverCpu)) noteServerExited(ctx);
  const otherPct = Math.round((100 * otherCpu) / wallS);
  if (otherPct > 20 && !ctx.notes.some((note) => note.startsWith('other processes'))) {
    ctx.notes.push(`other processes used up to ${otherPct}% of a core meanwhile (other_cpu_pct): latency and rates are noisy`);
  }
  const stealPct = Math.round((100 * stealCpu) / wallS);
  if (stealPct > 10 && !ctx.notes.some((note) => note.startsWith('the hypervisor'))) {
    ctx.notes.push(`the hypervisor took ${stealPct}% of a core from this VM meanwhile (steal_pct): latency is noisy`);
  }
  if (loadgenCpu / wallS > 0.85) ctx.notes.push(`load generator near its core's limit (${Math.round((100 * loadgenCpu) / wallS)}%)`);

  const figures: Figures = {
    published: ok,
    publish_failures: failed,
    expected,
    delivered,
    delivery_ratio: expected ? Number((delivered / expected).toFixed(6)) : NaN,
    duplicates: sum((s) => s.delivery.duplicates),
    out_of_order: sum((s) => s.delivery.outOfOrder),
    disconnects: closed,
    delivered_per_s: round(delivered / spanS),
    posts_per_s: round(ok / answerSpanS),
    p50_ms: latency.p50Ms,
    p90_ms: latency.p90Ms,
    p99_ms: latency.p99Ms,
    max_ms: latency.maxMs,
    server_cpu_s: round(serverCpu),
    server_cpu_us_per_delivery: round((serverCpu * 1e6) / Math.max(1, delivered)),
    server_cpu_pct: round((100 * serverCpu) / wallS),
    loadgen_cpu_s: round(loadgenCpu),
    loadgen_cpu_us_per_delivery: round((loadgenCpu * 1e6) / Math.max(1, delivered)),
    loadgen_cpu_pct: round((100 * loadgenCpu) / wallS),
    publisher_max_lag_ms: round(Math.max(...samples.map((s) => s.published.maxLagMs))),
    other_cpu_pct: round((100 * otherCpu) / wallS),
    steal_pct: round((100 * stealCpu) / wallS),
    server_wait_ms: round(sum((s) => s.serverWait) * 1000),
    subscriber_wait_ms: round(sum((s) => s.subscriberWait) * 1000),
  };
  if (samples.some((s) => s.shared)) {
    const sharedCpu = sum((s) => s.sharedCpu);
    figures.redis_cpu_s = round(sharedCpu);
    figures.redis_cpu_us_per_post = round((sharedCpu * 1e6) / Math.max(1, ok));
  }
  if (crossNode.count) {
    figures.cross_node_p50_ms = crossNode.p50Ms;
    figures.cross_node_p99_ms = crossNode.p99Ms;
    figures.cross_node_max_ms = crossNode.maxMs;
  }
  return figures;
}
