// Several rounds of one scenario folded into one result per target: each figure's median, and
// its range, over the rounds in which that target ran. Rounds alternate the order of the targets
// (see run.ts), so a slow spell of the machine falls on each server about as often.
import type { Figures } from './measure.js';
import type { TargetResult } from './scenarios.js';
import type { TargetName } from './targets.js';

export type Ranges = Record<string, [number, number]>;

export interface SummarizedResult extends TargetResult {
  /** Per figure, the lowest and highest value over the rounds (only with more than one). */
  ranges?: Ranges;
  /** Rounds whose figures went into the medians. */
  roundsRun: number;
}

export function median(values: number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const middle = sorted.length >> 1;
  // The mean of the middle two, at the figures' own precision (no 97.55000000000001).
  return sorted.length % 2 ? sorted[middle]! : Number(((sorted[middle - 1]! + sorted[middle]!) / 2).toPrecision(6));
}

/** The order of the targets in round `round`: as given, then reversed, and so on. */
export function roundOrder<T>(targets: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...targets] : [...targets].reverse();
}

/** One result per target (in `targets` order) from the rounds; a target that failed in every round keeps its last error. */
export function summarizeRounds(targets: readonly TargetName[], rounds: TargetResult[][]): SummarizedResult[] {
  return targets.map((target) => {
    const runs = rounds.map((round) => round.find((result) => result.target === target)).filter((r): r is TargetResult => r !== undefined);
    const ran = runs.filter((result) => !result.error);
    const notes = runs.flatMap((result, index) => result.notes.map((note) => (rounds.length > 1 ? `round ${index + 1}: ${note}` : note)));
    if (!ran.length) return { target, figures: {}, notes, roundsRun: 0, ...(runs.at(-1)?.error ? { error: runs.at(-1)!.error } : {}) };
    if (rounds.length === 1) return { ...ran[0]!, notes, roundsRun: 1 };
    for (const [index, result] of runs.entries()) if (result.error) notes.push(`round ${index + 1}: not run: ${result.error.split('\n')[0]}`);
    const names = new Set(ran.flatMap((result) => Object.keys(result.figures)));
    const figures: Figures = {};
    const ranges: Ranges = {};
    for (const name of names) {
      const values = ran.map((result) => result.figures[name]).filter((value): value is number => value !== undefined && !Number.isNaN(value));
      if (!values.length) continue;
      figures[name] = median(values);
      ranges[name] = [Math.min(...values), Math.max(...values)];
    }
    return { target, figures, notes, ranges, roundsRun: ran.length };
  });
}
