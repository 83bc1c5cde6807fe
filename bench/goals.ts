// Issue 5's targets as data, judged against every round of a run: a bound is either fixed or a
// multiple of the peer's figure from the same round (both servers saw that round's machine).
// Pure, so the rules themselves are unit-tested; the runner only prints what they say.
import type { Figures } from './measure.js';

export type GoalOp = '<' | '<=' | '>=' | '==';

export interface Goal {
  scenario: string;
  figure: string;
  op: GoalOp;
  /** A fixed bound, or `times` x the peer's same figure in the same round. */
  bound: number | { peer: 'nchan'; times: number };
}

const ofNchan = (times = 1) => ({ peer: 'nchan', times }) as const;

export const GOALS: readonly Goal[] = [
  { scenario: 'fanout-10', figure: 'delivery_ratio', op: '==', bound: 1 },
  { scenario: 'fanout-10', figure: 'server_cpu_us_per_delivery', op: '<=', bound: ofNchan() },
  { scenario: 'fanout-10', figure: 'p99_ms', op: '<', bound: 100 },
  { scenario: 'fanout-20', figure: 'delivery_ratio', op: '==', bound: 1 },
  { scenario: 'fanout-20', figure: 'out_of_order', op: '==', bound: 0 },
  { scenario: 'fanout-20', figure: 'p99_ms', op: '<', bound: 250 },
  { scenario: 'saturation', figure: 'sustained_delivered_per_s', op: '>=', bound: ofNchan(3) },
  { scenario: 'saturation', figure: 'p99_ms', op: '<=', bound: 1000 },
  { scenario: 'rooms', figure: 'delivery_ratio', op: '==', bound: 1 },
  { scenario: 'rooms', figure: 'p99_ms', op: '<=', bound: ofNchan() },
  { scenario: 'publish', figure: 'posts_per_s', op: '>=', bound: ofNchan() },
  { scenario: 'publish-redis', figure: 'posts_per_s', op: '>=', bound: 10000 },
  { scenario: 'idle', figure: 'rss_per_conn_kb', op: '<=', bound: 4 },
  { scenario: 'idle', figure: 'setup_ms', op: '<', bound: 2000 },
  { scenario: 'cross-node', figure: 'delivery_ratio', op: '==', bound: 1 },
  { scenario: 'cross-node', figure: 'cross_node_p99_ms', op: '<', bound: 20 },
];

/** One round's sse-chat and peer figures; a target that did not run is undefined. */
export interface RoundFigures {
  ours: Figures | undefined;
  peers: Partial<Record<'nchan', Figures>>;
}

export interface GoalResult {
  goal: Goal;
  /** How the bound reads, e.g. "p99_ms <= nchan's" or "setup_ms < 2000". */
  text: string;
  /** Per round: met, missed, or null when a figure it needs is missing. */
  perRound: (boolean | null)[];
  met: number;
  judged: number;
  /**
   * Per round: the most the hypervisor took from this VM (steal, % of one core) in the window the
   * figure comes from, over sse-chat's and the peer's; null where neither reported it. A slow
   * spell falls on one server's window and not the other's, and a latency tail follows it, so a
   * verdict is read with it (the verdict itself does not change).
   */
  stealPerRound: (number | null)[];
}

export function goalText(goal: Goal): string {
  const { bound } = goal;
  const right = typeof bound === 'number' ? String(bound) : bound.times === 1 ? `${bound.peer}'s` : `${bound.times}x ${bound.peer}'s`;
  return `${goal.figure} ${goal.op} ${right}`;
}

/** Met, missed, or null when the round lacks a figure the goal needs. */
export function judgeGoal(goal: Goal, round: RoundFigures): boolean | null {
  const ours = round.ours?.[goal.figure];
  if (ours === undefined || Number.isNaN(ours)) return null;
  let limit: number;
  if (typeof goal.bound === 'number') limit = goal.bound;
  else {
    const theirs = round.peers[goal.bound.peer]?.[goal.figure];
    if (theirs === undefined || Number.isNaN(theirs)) return null;
    limit = theirs * goal.bound.times;
  }
  switch (goal.op) {
    case '<':
      return ours < limit;
    case '<=':
      return ours <= limit;
    case '>=':
      return ours >= limit;
    case '==':
      return ours === limit;
  }
}

/** The steal figure of the window `figure` is measured in: the setup's for setup figures. */
export function stealFigureOf(figure: string): string {
  return figure.startsWith('setup_') ? 'setup_steal_pct' : 'steal_pct';
}

/** The most steal either server's window of this round saw, or null. */
export function roundSteal(goal: Goal, round: RoundFigures): number | null {
  const name = stealFigureOf(goal.figure);
  const seen = [round.ours, round.peers.nchan].map((figures) => figures?.[name]).filter((v): v is number => v !== undefined && !Number.isNaN(v));
  return seen.length ? Math.max(...seen) : null;
}

/** Every goal of `scenario`, judged round by round. */
export function judgeScenario(scenario: string, rounds: RoundFigures[], goals: readonly Goal[] = GOALS): GoalResult[] {
  return goals
    .filter((goal) => goal.scenario === scenario)
    .map((goal) => {
      const perRound = rounds.map((round) => judgeGoal(goal, round));
      return {
        goal,
        text: goalText(goal),
        perRound,
        met: perRound.filter((verdict) => verdict === true).length,
        judged: perRound.filter((verdict) => verdict !== null).length,
        stealPerRound: rounds.map((round) => roundSteal(goal, round)),
      };
    });
}
