// The scenarios of issue 5, each a function from one started target to its figures (or, for
// rooms, from all of a round's targets started together). The runner starts each target in turn
// (sse-chat first, then the peers) and hands it here.
import { connectViewers, measureWindow, sampleWindow, viewerSpecs, windowFigures, type Figures, type TargetContext, type WindowOptions, type WindowSample } from './measure.js';
import type { PublishPlan } from './loadgen/protocol.js';
import type { TargetName } from './targets.js';
import { alone, byTurns } from './turns.js';

/** Sizes and durations; `--quick` shrinks them for development runs. */
export interface Scale {
  durationS: number;
  fanoutViewers: number;
  saturationStepS: number;
  rooms: number;
  roomViewers: number;
  roomsRate: number;
  publishStreams: number;
  publishS: number;
  idleConnections: number;
  idleStreams: number;
  crossNodeStreams: number;
  crossNodeViewersPerNode: number;
  crossNodeRate: number;
  /**
   * Traffic at the scenario's own rate before the measured window (paced scenarios; the publish
   * scenarios use publishWarmupS), for every target alike; 0 with `--cold`.
   */
  warmupS: number;
  publishWarmupS: number;
}

export const FULL_SCALE: Scale = {
  durationS: 10,
  fanoutViewers: 5000,
  saturationStepS: 5,
  rooms: 1000,
  roomViewers: 5,
  roomsRate: 1000,
  publishStreams: 100,
  publishS: 5,
  idleConnections: 15000,
  idleStreams: 1500,
  crossNodeStreams: 100,
  crossNodeViewersPerNode: 3,
  crossNodeRate: 1000,
  warmupS: 5,
  publishWarmupS: 2,
};

export const QUICK_SCALE: Scale = {
  ...FULL_SCALE,
  durationS: 3,
  fanoutViewers: 1000,
  saturationStepS: 2,
  rooms: 200,
  roomsRate: 200,
  publishS: 2,
  idleConnections: 3000,
  idleStreams: 300,
  warmupS: 1,
  publishWarmupS: 1,
};

export interface TargetResult {
  target: TargetName;
  figures: Figures;
  notes: string[];
  error?: string;
  /** Saturation: every rate tried, in order. */
  steps?: Figures[];
}

export interface Scenario {
  name: string;
  title: string;
  /** How many nodes each target runs. */
  nodes: number;
  needsRedis: boolean;
  targets: TargetName[];
  streamCount(scale: Scale): number;
  /** Measures one target, started alone (the others not running). */
  run?(ctx: TargetContext, scale: Scale): Promise<Pick<TargetResult, 'figures' | 'steps'>>;
  /** Measures every target of a round at once: all started, then given their load by turns. */
  runTogether?(ctxs: TargetContext[], scale: Scale): Promise<Pick<TargetResult, 'figures'>[]>;
}

function pacedPlan(ctx: TargetContext, rate: number, durationS: number, connectionsPerTarget: number): PublishPlan {
  return {
    targets: ctx.server.ports.map((port, node) => ({ port, node })),
    paths: ctx.streams.map((stream) => ctx.server.pubPath(stream)),
    mode: 'paced',
    rate,
    durationMs: durationS * 1000,
    connectionsPerTarget,
    maxInFlight: 64,
    drainMs: 30000,
  };
}

/** How long a window waits for its last deliveries (every scenario but saturation's steps). */
const WINDOW: WindowOptions = { drainTimeoutMs: 30000, stallMs: 5000 };

/**
 * Runs `plan` once before the measured window, as a server that has been up for a while would have
 * been: a Node server's first seconds under load carry its JIT compilation and the growth of its
 * young generation (cross-node p99 62-88 ms in the first 10 s against 11-13 ms after 5 s of
 * traffic; nchan's the same either way). What the cold window saw is reported beside the figures
 * (`warmup_*`), so the cost of a cold start stays visible.
 */
async function warmUp(ctx: TargetContext, plan: PublishPlan | null): Promise<Figures> {
  if (!plan) return {};
  return warmUpFigures(ctx, plan.durationMs / 1000, await measureWindow(ctx, plan, WINDOW));
}

function warmUpFigures(ctx: TargetContext, durationS: number, cold: Figures): Figures {
  if (cold.delivery_ratio !== 1) ctx.notes.push(`the warm-up window's delivery ratio was ${cold.delivery_ratio}`);
  return {
    warmup_s: durationS,
    warmup_p99_ms: cold.p99_ms ?? NaN,
    ...(cold.cross_node_p99_ms !== undefined ? { warmup_cross_node_p99_ms: cold.cross_node_p99_ms } : {}),
    warmup_cpu_us_per_delivery: cold.server_cpu_us_per_delivery ?? NaN,
  };
}

/** A paced warm-up at `rate` for scale.warmupS, or none. */
function pacedWarmUp(ctx: TargetContext, scale: Scale, rate: number, connectionsPerTarget: number): Promise<Figures> {
  return warmUp(ctx, scale.warmupS > 0 ? pacedPlan(ctx, rate, scale.warmupS, connectionsPerTarget) : null);
}


function fanout(rate: number): Scenario {
  return {
    name: `fanout-${rate}`,
    title: `fan-out: 1 stream x viewers, ${rate} msg/s`,
    nodes: 1,
    needsRedis: false,
    targets: ['sse-chat', 'nchan', 'naive'],
    streamCount: () => 1,
    async run(ctx, scale) {
      const setup = await connectViewers(ctx, viewerSpecs(ctx, scale.fanoutViewers));
      const warm = await pacedWarmUp(ctx, scale, rate, 4);
      const window = await measureWindow(ctx, pacedPlan(ctx, rate, scale.durationS, 4), WINDOW);
      return { figures: { ...setup, rate_msgs_per_s: rate, ...window, ...warm } };
    },
  };
}

/** Raises the rate on one stream step by step until p99 passes 1 s or a message goes missing. */
const saturation: Scenario = {
  name: 'saturation',
  title: 'saturation: 1 stream x viewers, rate raised until p99 > 1 s',
  nodes: 1,
  needsRedis: false,
  targets: ['sse-chat', 'nchan', 'naive'],
  streamCount: () => 1,
  async run(ctx, scale) {
    const setup = await connectViewers(ctx, viewerSpecs(ctx, scale.fanoutViewers));
    const steps: Figures[] = [];
    const passes = (f: Figures) => f.delivery_ratio === 1 && (f.p99_ms ?? Infinity) <= 1000;
    const tryRate = async (rate: number): Promise<Figures> => {
      const figures = await measureWindow(ctx, pacedPlan(ctx, rate, scale.saturationStepS, 8), { drainTimeoutMs: 20000, stallMs: 4000 });
      const step: Figures = { rate_msgs_per_s: rate, ...figures };
      steps.push(step);
      return step;
    };
    let lastPass: number | null = null;
    let loadgenBusy = 0;
    let firstFail: number | null = null;
    for (let rate = 10; rate <= 2000; rate = Math.round(rate * 1.5)) {
      const step = await tryRate(rate);
      if (!passes(step)) {
        firstFail = rate;
        break;
      }
      lastPass = rate;
      // Not a reason to stop: at low rates every delivery is a read of its own, so the load
      // generator can pass 85% of its core at 23 msg/s and need less per delivery at 400, when
      // frames arrive coalesced (a run stopped at 23 msg/s that had reached 404 before). A load
      // generator at its limit only adds latency, so the step that fails ends the search.
      if ((step.loadgen_cpu_pct ?? 0) > 85) loadgenBusy = Math.max(loadgenBusy, rate);
    }
    if (loadgenBusy) ctx.notes.push(`the load generator's core passed 85% at ${loadgenBusy} msg/s: the figure is a floor for the server`);
    // One step between the last pass and the first failure, if the failing step still drained.
    const failed = steps.at(-1);
    if (lastPass !== null && firstFail !== null && failed && failed.delivery_ratio === 1) {
      const mid = Math.round(Math.sqrt(lastPass * firstFail));
      if (mid > lastPass && mid < firstFail) await tryRate(mid);
    }
    const best = steps.filter(passes).sort((a, b) => (b.delivered_per_s ?? 0) - (a.delivered_per_s ?? 0))[0];
    if (!best) ctx.notes.push('no rate passed (p99 <= 1 s with every message delivered)');
    return {
      figures: { ...setup, ...(best ?? steps[0] ?? {}), sustained_delivered_per_s: best?.delivered_per_s ?? 0 },
      steps,
    };
  },
};

/** The length of one turn in rooms: each target's window is taken in slices of this, by turns. */
export const ROOMS_SLICE_S = 0.5;
/** Posting at the same rate before each slice, not counted: the server back up to speed after the others' turns. */
export const ROOMS_LEAD_IN_S = 0.1;

/**
 * `durationS` of paced posting to every target by turns (turns.ts), in slices of ROOMS_SLICE_S,
 * the publisher's connections kept open from one slice to the next; each target's slices.
 *
 * Each slice follows a lead-in of ROOMS_LEAD_IN_S at the same rate, not counted. A server comes
 * back from the others' turns slower (its data and code out of the caches, its timers overdue):
 * in the lead-ins the median latency was 5-9% above the slices' own (ours 0.194 against 0.185 ms,
 * nchan 0.174 against 0.159, raw-net 0.167 against 0.161; 30 turns of four servers; of two, ours
 * 0.198 against 0.192, nchan 0.188 against 0.173). Measured one after the other, no server ever
 * came back so; after the lead-in none does here either.
 */
function pacedByTurns(ctxs: TargetContext[], rate: number, durationS: number, connectionsPerTarget: number): Promise<WindowSample[][]> {
  const turns = Math.max(1, Math.round(durationS / ROOMS_SLICE_S));
  return byTurns(ctxs, turns, async (ctx) => {
    const slice = (seconds: number) => ({ ...pacedPlan(ctx, rate, seconds, connectionsPerTarget), keepConnections: true });
    await sampleWindow(ctx, slice(ROOMS_LEAD_IN_S), WINDOW);
    return sampleWindow(ctx, slice(ROOMS_SLICE_S), WINDOW);
  });
}

const rooms: Scenario = {
  name: 'rooms',
  title: `rooms: many streams x few viewers, messages spread over them (the servers up together, measured by turns in ${ROOMS_SLICE_S} s slices, at real-time priority)`,
  nodes: 1,
  needsRedis: false,
  targets: ['sse-chat', 'nchan', 'naive', 'raw-net'],
  streamCount: (scale) => scale.rooms,
  // Its goal is a p99 of well under a millisecond, which the machine's slow spells decided when
  // the servers were measured one after the other: by turns (turns.ts). At real-time priority,
  // as a few 3-9 ms waits behind the machine's own processes would decide it too (realtime.ts);
  // low rates only, as a real-time process at a saturated core would starve the rest of it.
  async runTogether(ctxs, scale) {
    const setups: Figures[] = [];
    // Each server's viewers are let in while the others are stopped, as its setup figures are its own.
    for (const ctx of ctxs) setups.push(await alone(ctxs, ctx, () => connectViewers(ctx, viewerSpecs(ctx, scale.roomViewers))));
    const warm = scale.warmupS > 0 ? await pacedByTurns(ctxs, scale.roomsRate, scale.warmupS, 16) : null;
    const measured = await pacedByTurns(ctxs, scale.roomsRate, scale.durationS, 16);
    return ctxs.map((ctx, index) => ({
      figures: {
        ...setups[index],
        rate_msgs_per_s: scale.roomsRate,
        slices: measured[index]!.length,
        ...windowFigures(ctx, measured[index]!),
        ...(warm ? warmUpFigures(ctx, scale.warmupS, windowFigures(ctx, warm[index]!)) : {}),
      },
    }));
  },
};

/** POSTs as fast as the server answers (100 connections x 10 pipelined), one viewer per stream. */
async function publishAsFastAsAnswered(ctx: TargetContext, scale: Scale): Promise<Pick<TargetResult, 'figures'>> {
  const setup = await connectViewers(ctx, viewerSpecs(ctx, 1));
  const plan = (durationS: number): PublishPlan => ({
    targets: ctx.server.ports.map((port, node) => ({ port, node })),
    paths: ctx.streams.map((stream) => ctx.server.pubPath(stream)),
    mode: 'closed',
    rate: 0,
    durationMs: durationS * 1000,
    // 100 connections x 10 pipelined, as `autocannon -c 100 -p 10`: the client's own syscalls
    // per request would otherwise cap what a fast server can show on one core.
    connectionsPerTarget: scale.publishStreams,
    maxInFlight: 10,
    drainMs: 10000,
  });
  const warm = await warmUp(ctx, scale.publishWarmupS > 0 ? plan(scale.publishWarmupS) : null);
  const window = await measureWindow(ctx, plan(scale.publishS), WINDOW);
  return { figures: { ...setup, ...window, ...warm } };
}

const publish: Scenario = {
  name: 'publish',
  title: 'publish: streams x 1 viewer, POST as fast as the server answers (100 connections x 10 pipelined)',
  nodes: 1,
  needsRedis: false,
  targets: ['sse-chat', 'nchan', 'naive'],
  streamCount: (scale) => scale.publishStreams,
  run: publishAsFastAsAnswered,
};

/** The same on one node whose broker is the Redis Cluster (issue 5: >= 10,000 POST/s per node). */
const publishRedis: Scenario = {
  name: 'publish-redis',
  title: 'publish over Redis: one node on the Redis Cluster, streams x 1 viewer, POST as fast as the server answers (100 x 10 pipelined)',
  nodes: 1,
  needsRedis: true,
  targets: ['sse-chat', 'nchan'],
  streamCount: (scale) => scale.publishStreams,
  run: publishAsFastAsAnswered,
};

const idle: Scenario = {
  name: 'idle',
  title: 'idle: many idle SSE connections, memory per connection and setup time',
  nodes: 1,
  needsRedis: false,
  targets: ['sse-chat', 'nchan', 'naive'],
  streamCount: (scale) => scale.idleStreams,
  async run(ctx, scale) {
    const setup = await connectViewers(ctx, viewerSpecs(ctx, Math.ceil(scale.idleConnections / scale.idleStreams)), 2000);
    return { figures: setup };
  },
};

const crossNode: Scenario = {
  name: 'cross-node',
  title: 'cross-node: 3 nodes over Redis, viewers on every node, posts to every node',
  nodes: 3,
  needsRedis: true,
  targets: ['sse-chat', 'nchan'],
  streamCount: (scale) => scale.crossNodeStreams,
  async run(ctx, scale) {
    const setup = await connectViewers(ctx, viewerSpecs(ctx, scale.crossNodeViewersPerNode * ctx.server.ports.length));
    const warm = await pacedWarmUp(ctx, scale, scale.crossNodeRate, 4);
    const window = await measureWindow(ctx, pacedPlan(ctx, scale.crossNodeRate, scale.durationS, 4), WINDOW);
    return { figures: { ...setup, rate_msgs_per_s: scale.crossNodeRate, ...window, ...warm } };
  },
};

export const SCENARIOS: Scenario[] = [fanout(10), fanout(20), saturation, rooms, publish, publishRedis, idle, crossNode];
