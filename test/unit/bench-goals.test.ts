// The bench's verdicts on issue 5's targets and its summary of several rounds: a wrong rule here
// would report a target met that was missed, so each rule is checked on both sides of its bound.
import assert from 'node:assert/strict';
import { GOALS, goalText, judgeGoal, judgeScenario, roundSteal, type Goal } from '../../bench/goals.js';
import { goalLines, type ScenarioReport } from '../../bench/report.js';
import { median, roundOrder, summarizeRounds } from '../../bench/rounds.js';
import { SCENARIOS } from '../../bench/scenarios.js';

const roomsP99 = GOALS.find((g) => g.scenario === 'rooms' && g.figure === 'p99_ms')!;
const saturation = GOALS.find((g) => g.scenario === 'saturation' && g.figure === 'sustained_delivered_per_s')!;
const idleSetup = GOALS.find((g) => g.scenario === 'idle' && g.figure === 'setup_ms')!;

describe('bench: issue 5 targets', () => {
  it('names only scenarios the bench runs', () => {
    const names = new Set(SCENARIOS.map((s) => s.name));
    for (const goal of GOALS) assert.ok(names.has(goal.scenario), goal.scenario);
  });

  it('judges a bound relative to the peer of the same round, on both sides of it', () => {
    assert.equal(judgeGoal(roomsP99, { ours: { p99_ms: 2.9 }, peers: { nchan: { p99_ms: 3.0 } } }), true);
    assert.equal(judgeGoal(roomsP99, { ours: { p99_ms: 3.0 }, peers: { nchan: { p99_ms: 3.0 } } }), true);
    assert.equal(judgeGoal(roomsP99, { ours: { p99_ms: 3.1 }, peers: { nchan: { p99_ms: 3.0 } } }), false);
    // 3x nchan's sustained rate
    assert.equal(judgeGoal(saturation, { ours: { sustained_delivered_per_s: 300 }, peers: { nchan: { sustained_delivered_per_s: 100 } } }), true);
    assert.equal(judgeGoal(saturation, { ours: { sustained_delivered_per_s: 299 }, peers: { nchan: { sustained_delivered_per_s: 100 } } }), false);
  });

  it('judges a fixed bound with its own operator, and cannot judge a missing figure', () => {
    assert.equal(judgeGoal(idleSetup, { ours: { setup_ms: 1999 }, peers: {} }), true);
    assert.equal(judgeGoal(idleSetup, { ours: { setup_ms: 2000 }, peers: {} }), false);
    assert.equal(judgeGoal(idleSetup, { ours: undefined, peers: {} }), null);
    assert.equal(judgeGoal(roomsP99, { ours: { p99_ms: 1 }, peers: {} }), null, 'no peer ran');
    assert.equal(judgeGoal(roomsP99, { ours: { p99_ms: NaN }, peers: { nchan: { p99_ms: 3 } } }), null);
    const exact: Goal = { scenario: 'x', figure: 'delivery_ratio', op: '==', bound: 1 };
    assert.equal(judgeGoal(exact, { ours: { delivery_ratio: 0.9999 }, peers: {} }), false);
  });

  it('counts the rounds a target held in', () => {
    const rounds = [2.5, 3.5, 2.8].map((ours) => ({ ours: { p99_ms: ours, delivery_ratio: 1 }, peers: { nchan: { p99_ms: 3 } } }));
    const [ratio, p99] = judgeScenario('rooms', rounds);
    assert.deepEqual(ratio!.perRound, [true, true, true]);
    assert.deepEqual(p99!.perRound, [true, false, true]);
    assert.equal(p99!.met, 2);
    assert.equal(p99!.judged, 3);
    assert.equal(goalText(roomsP99), "p99_ms <= nchan's");
    assert.equal(goalText(saturation), "sustained_delivered_per_s >= 3x nchan's");
  });
});

describe('bench: rounds', () => {
  it('alternates the order of the servers', () => {
    assert.deepEqual(roundOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
    assert.deepEqual(roundOrder(['a', 'b', 'c'], 1), ['c', 'b', 'a']);
    assert.deepEqual(roundOrder(['a', 'b', 'c'], 2), ['a', 'b', 'c']);
  });

  it('takes the median of odd and even counts, ignoring NaN', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([NaN, 7]), 7);
    assert.ok(Number.isNaN(median([])));
  });

  it('folds rounds into medians and ranges per server, keeping notes and skipping a failed round', () => {
    const summary = summarizeRounds(
      ['sse-chat', 'nchan'],
      [
        [
          { target: 'sse-chat', figures: { p99_ms: 3 }, notes: ['noisy'] },
          { target: 'nchan', figures: { p99_ms: 4 }, notes: [] },
        ],
        [
          { target: 'nchan', figures: { p99_ms: 6 }, notes: [] },
          { target: 'sse-chat', figures: {}, notes: [], error: 'port taken' },
        ],
        [
          { target: 'sse-chat', figures: { p99_ms: 5 }, notes: [] },
          { target: 'nchan', figures: { p99_ms: 2 }, notes: [] },
        ],
      ],
    );
    const [ours, nchan] = summary;
    assert.equal(ours!.figures.p99_ms, 4);
    assert.deepEqual(ours!.ranges!.p99_ms, [3, 5]);
    assert.equal(ours!.roundsRun, 2);
    assert.deepEqual(ours!.notes, ['round 1: noisy', 'round 2: not run: port taken']);
    assert.equal(nchan!.figures.p99_ms, 4);
    assert.equal(nchan!.roundsRun, 3);
  });

  it('passes a single round through as it was', () => {
    const [only] = summarizeRounds(['nchan'], [[{ target: 'nchan', figures: { p99_ms: 4 }, notes: ['x'], steps: [{ rate_msgs_per_s: 10 }] }]]);
    assert.deepEqual(only!.figures, { p99_ms: 4 });
    assert.deepEqual(only!.steps, [{ rate_msgs_per_s: 10 }]);
    assert.equal(only!.ranges, undefined);
  });

  it('reads each round with the steal of its windows, the most of either server, setup figures with the setup’s', () => {
    assert.equal(roundSteal(roomsP99, { ours: { p99_ms: 2, steal_pct: 1.5 }, peers: { nchan: { p99_ms: 1, steal_pct: 40 } } }), 40);
    assert.equal(roundSteal(idleSetup, { ours: { setup_ms: 1500, setup_steal_pct: 12, steal_pct: 0 }, peers: {} }), 12);
    assert.equal(roundSteal(roomsP99, { ours: { p99_ms: 2 }, peers: { nchan: { p99_ms: 1 } } }), null, 'not reported');
    const rounds = [
      { ours: { p99_ms: 2, steal_pct: 0.5, delivery_ratio: 1 }, peers: { nchan: { p99_ms: 3, steal_pct: 1 } } },
      { ours: { p99_ms: 9, steal_pct: 39.5, delivery_ratio: 1 }, peers: { nchan: { p99_ms: 2, steal_pct: 0.1 } } },
    ];
    const goals = judgeScenario('rooms', rounds);
    assert.deepEqual(goals[1]!.perRound, [true, false], 'the verdicts do not change');
    assert.deepEqual(goals[1]!.stealPerRound, [1, 39.5]);
    const report: ScenarioReport = { scenario: 'rooms', title: 'rooms', results: [], rounds: 2, goals };
    assert.equal(goalLines(report)[1], "issue 5 target p99_ms <= nchan's: met in 1 of 2 rounds (met; missed, steal 39.5%)");
  });
});
