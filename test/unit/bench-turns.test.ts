// Rooms measures its servers by turns: all started, each given the machine in slices while the
// others are stopped, and each server's slices added up into one window. A target left running
// during another's slice, a rotation that favours one place, or slices that do not add up would
// each put a thumb on the scale of the p99 verdict.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { LatencyHistogram } from '../../bench/loadgen/histogram.js';
import type { DeliverySummary } from '../../bench/loadgen/loadgen.js';
import type { PublishResult } from '../../bench/loadgen/protocol.js';
import { targetSinceStart, windowFigures, type TargetContext, type WindowSample } from '../../bench/measure.js';
import { cpuSeconds, statFields } from '../../bench/procstat.js';
import { alone, byTurns, turnOrder } from '../../bench/turns.js';

/** Field 3 of /proc/PID/stat: R, S, T (stopped) ... */
function state(pid: number): string {
  return statFields(pid)![0]!;
}

/** A target whose "server" and "load generator" are sleeping child processes. */
function fakeTarget(name: string, server: ChildProcess, loadgen: ChildProcess): TargetContext {
  return {
    server: { name, pids: () => [server.pid!] },
    loadgen: { pids: () => [loadgen.pid!], subscriberPids: () => [loadgen.pid!] },
    notes: [],
  } as unknown as TargetContext;
}

describe('bench: targets by turns', () => {
  it('gives every target every place in the order equally often', () => {
    assert.deepEqual(turnOrder(2, 0), [0, 1]);
    assert.deepEqual(turnOrder(2, 1), [1, 0]);
    const places = [0, 1, 2].map(() => [0, 0, 0]);
    for (let turn = 0; turn < 6; turn++) turnOrder(3, turn).forEach((target, place) => places[target]![place]!++);
    assert.deepEqual(places, [[2, 2, 2], [2, 2, 2], [2, 2, 2]]);
  });

  describe('with processes', () => {
    const children: ChildProcess[] = [];
    beforeEach(async () => {
      for (let i = 0; i < 4; i++) {
        const child = spawn('sleep', ['30'], { stdio: 'ignore' });
        children.push(child);
        await once(child, 'spawn');
      }
    });
    afterEach(() => {
      for (const child of children.splice(0)) child.kill('SIGKILL');
    });

    it("stops every other target's processes during a target's turn, and lets them all go after", async () => {
      const [a, b] = [fakeTarget('a', children[0]!, children[1]!), fakeTarget('b', children[2]!, children[3]!)];
      const seen: string[] = [];
      const results = await byTurns([a, b], 3, async (ctx) => {
        const own = ctx === a ? children.slice(0, 2) : children.slice(2);
        const other = ctx === a ? children.slice(2) : children.slice(0, 2);
        for (const child of own) assert.notEqual(state(child.pid!), 'T', `${ctx.server.name}'s own process is stopped`);
        for (const child of other) assert.equal(state(child.pid!), 'T', `the other target runs during ${ctx.server.name}'s turn`);
        seen.push(ctx.server.name);
        return ctx.server.name;
      });
      assert.deepEqual(seen, ['a', 'b', 'b', 'a', 'a', 'b']);
      assert.deepEqual(results, [['a', 'a', 'a'], ['b', 'b', 'b']]);
      for (const child of children) assert.notEqual(state(child.pid!), 'T');
    });

    it("lets a target's viewers in with the others stopped", async () => {
      const [a, b] = [fakeTarget('a', children[0]!, children[1]!), fakeTarget('b', children[2]!, children[3]!)];
      const states = await alone([a, b], b, async () => children.map((child) => state(child.pid!)));
      assert.deepEqual(states.map((s) => s === 'T'), [true, true, false, false]);
      for (const child of children) assert.notEqual(state(child.pid!), 'T');
    });

    it('lets the others go when a turn fails', async () => {
      const [a, b] = [fakeTarget('a', children[0]!, children[1]!), fakeTarget('b', children[2]!, children[3]!)];
      await assert.rejects(
        byTurns([a, b], 1, async () => {
          throw new Error('the window failed');
        }),
        /the window failed/,
      );
      for (const child of children) assert.notEqual(state(child.pid!), 'T');
    });
  });
});

function histogram(valuesUs: number[]): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const v of valuesUs) h.record(v);
  return h;
}

function sample(latenciesUs: number[], overrides: { delivered: number; ok: number; serverCpu: number; lagMs: number; complete?: boolean }): WindowSample {
  const published: PublishResult = {
    okPerStream: [overrides.ok],
    sent: overrides.ok,
    ok: overrides.ok,
    failed: 0,
    statuses: { 201: overrides.ok },
    errors: [],
    firstSendUs: 1_000_000,
    lastSendUs: 1_400_000,
    lastAnswerUs: 1_500_000,
    maxQueued: 0,
    maxLagMs: overrides.lagMs,
  };
  const delivery: DeliverySummary = {
    complete: overrides.complete ?? true,
    expected: overrides.delivered,
    delivered: overrides.delivered,
    duplicates: 0,
    outOfOrder: 0,
    closed: 0,
    connections: 5,
    latency: histogram(latenciesUs),
    crossNode: new LatencyHistogram(),
    lastDeliveryUs: 1_500_000,
  };
  return { published, delivery, wallS: 0.5, serverCpu: overrides.serverCpu, loadgenCpu: 0.01, serverWait: 0.001, subscriberWait: 0.002, sharedCpu: 0, otherCpu: 0, stealCpu: 0, shared: false };
}

describe('bench: a window in slices', () => {
  it('adds the slices up: counts, CPU per delivery, rates over the time posted, quantiles over every delivery', () => {
    // 98 fast deliveries in one slice, 2 slower in the other: read as one histogram the p99 is
    // the 99th of the 100 (0.15 ms); the mean of the slices' own p99s would say 2.55 ms.
    const fastUs = Array.from({ length: 98 }, () => 100);
    const slowUs = [150, 5000];
    const fast = sample(fastUs, { delivered: 98, ok: 98, serverCpu: 0.004, lagMs: 1 });
    const slow = sample(slowUs, { delivered: 2, ok: 2, serverCpu: 0.001, lagMs: 7 });
    const whole = histogram([...fastUs, ...slowUs]).summary();
    const figures = windowFigures({ notes: [] }, [fast, slow]);
    assert.equal(figures.published, 100);
    assert.equal(figures.delivered, 100);
    assert.equal(figures.delivery_ratio, 1);
    assert.equal(figures.server_cpu_us_per_delivery, 50);
    assert.equal(figures.delivered_per_s, 100, '100 deliveries over two 0.5 s spans');
    assert.equal(figures.posts_per_s, 100);
    assert.equal(figures.p50_ms, whole.p50Ms);
    assert.equal(figures.p99_ms, whole.p99Ms);
    assert.ok(Math.abs(whole.p99Ms - 0.15) < 0.002, `p99 ${whole.p99Ms}`);
    assert.equal(figures.max_ms, 5);
    assert.equal(figures.publisher_max_lag_ms, 7);
    assert.equal(figures.server_wait_ms, 2);
    assert.equal(figures.server_cpu_pct, 0.5);
  });

  it('gives no CPU figures and no rate for a slice whose server exited, rather than negative ones', () => {
    // What sampleWindow measures when the server was killed mid-slice: its CPU and wait not known
    // (sinceStart), and nothing answered or delivered after the first send, so both ends read 0.
    const gone = sample([], { delivered: 0, ok: 0, serverCpu: NaN, lagMs: 0, complete: false });
    gone.serverWait = NaN;
    gone.otherCpu = NaN;
    gone.published = { ...gone.published, failed: 10, statuses: {}, errors: ['connect ECONNREFUSED'], lastAnswerUs: 0 };
    gone.delivery = { ...gone.delivery, expected: 0, lastDeliveryUs: 0 };
    const notes: string[] = [];
    const figures = windowFigures({ notes }, [gone]);
    for (const name of ['server_cpu_s', 'server_cpu_us_per_delivery', 'server_cpu_pct', 'server_wait_ms', 'other_cpu_pct', 'delivered_per_s', 'posts_per_s']) {
      assert.ok(Number.isNaN(figures[name]), `${name} is ${figures[name]}`);
    }
    assert.equal(figures.publish_failures, 10);
    assert.ok(notes.includes('a server process exited during the measurement: its CPU and wait figures are not given'), notes.join(' | '));
  });

  it('knows no CPU time for a target with no process left (it exited between slices)', () => {
    // A server's process tree read after the server died is empty: its slice would add 0 s of
    // CPU, and the target's CPU per delivery would count only the slices before.
    assert.ok(Number.isNaN(targetSinceStart([], 0, cpuSeconds)));
    assert.ok(targetSinceStart([process.pid], 0, cpuSeconds) > 0);
  });

  it('says delivery was incomplete when any slice was, once', () => {
    const notes: string[] = [];
    windowFigures({ notes }, [sample([100], { delivered: 1, ok: 1, serverCpu: 0, lagMs: 0 }), sample([100], { delivered: 1, ok: 1, serverCpu: 0, lagMs: 0, complete: false })]);
    assert.deepEqual(notes, ['delivery incomplete: 2 of 2 after the drain wait']);
  });
});
