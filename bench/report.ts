// Turns a scenario's per-target figures into a text table, a markdown table and one JSON line,
// each with the ratio sse-chat / peer for every figure and the verdict on issue 5's targets.
import type { GoalResult } from './goals.js';
import type { SummarizedResult } from './rounds.js';

export interface ScenarioReport {
  scenario: string;
  title: string;
  /** One per target: its figures, or their medians over the rounds. */
  results: SummarizedResult[];
  rounds: number;
  goals: GoalResult[];
}

/** The order figures are shown in; any others follow alphabetically. */
const ORDER = [
  'connections',
  'connect_failures',
  'setup_ms',
  'setup_cpu_us_per_conn',
  'loadgen_setup_cpu_us_per_conn',
  'setup_other_cpu_pct',
  'setup_steal_pct',
  'setup_server_wait_ms',
  'server_rss_mb',
  'rss_per_conn_kb',
  'rate_msgs_per_s',
  'sustained_delivered_per_s',
  'published',
  'publish_failures',
  'posts_per_s',
  'expected',
  'delivered',
  'delivery_ratio',
  'duplicates',
  'out_of_order',
  'disconnects',
  'delivered_per_s',
  'p50_ms',
  'p90_ms',
  'p99_ms',
  'max_ms',
  'cross_node_p50_ms',
  'cross_node_p99_ms',
  'cross_node_max_ms',
  'warmup_s',
  'warmup_p99_ms',
  'warmup_cross_node_p99_ms',
  'warmup_cpu_us_per_delivery',
  'server_cpu_s',
  'server_cpu_pct',
  'server_cpu_us_per_delivery',
  'redis_cpu_s',
  'redis_cpu_us_per_post',
  'loadgen_cpu_s',
  'loadgen_cpu_pct',
  'loadgen_cpu_us_per_delivery',
  'publisher_max_lag_ms',
  'other_cpu_pct',
  'steal_pct',
  'server_wait_ms',
  'subscriber_wait_ms',
];

const PEERS = ['nchan', 'naive', 'raw-net'] as const;

function figureNames(results: SummarizedResult[]): string[] {
  const present = new Set(results.flatMap((r) => Object.keys(r.figures)));
  const known = ORDER.filter((name) => present.has(name));
  const rest = [...present].filter((name) => !ORDER.includes(name)).sort();
  return [...known, ...rest];
}

function ratio(ours: number | undefined, theirs: number | undefined): number | null {
  if (ours === undefined || theirs === undefined || !Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0) return null;
  return Number((ours / theirs).toPrecision(3));
}

function format(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

function ratios(report: ScenarioReport, peer: string): Record<string, number | null> | null {
  const ours = report.results.find((r) => r.target === 'sse-chat' && !r.error);
  const theirs = report.results.find((r) => r.target === peer && !r.error);
  if (!ours || !theirs) return null;
  return Object.fromEntries(figureNames([ours, theirs]).map((name) => [name, ratio(ours.figures[name], theirs.figures[name])]));
}

/** A figure, with its range over the rounds when there were several and they differ. */
function withRange(result: SummarizedResult, name: string): string {
  const value = format(result.figures[name]);
  const range = result.ranges?.[name];
  if (!range || range[0] === range[1]) return value;
  return `${value} [${format(range[0])}-${format(range[1])}]`;
}

/** Steal (% of one core) from which a verdict is shown with it: a slow spell of the host. */
const STEAL_SHOWN_PCT = 5;

/** A round's verdict, with the round's steal where it was a slow spell. */
function verdictText(verdict: boolean | null, steal: number | null | undefined): string {
  const text = verdict === null ? '-' : verdict ? 'met' : 'missed';
  return verdict !== null && steal != null && steal >= STEAL_SHOWN_PCT ? `${text}, steal ${format(steal)}%` : text;
}

/** One line per goal: how often it held, and its verdict in each round. */
export function goalLines(report: ScenarioReport, prefix = ''): string[] {
  return report.goals.map((g) => {
    const verdicts = g.perRound.map((v, round) => verdictText(v, g.stealPerRound?.[round]));
    const tally =
      g.judged === 0 ? 'not judged (a figure is missing)' : report.rounds === 1 ? verdicts[0] : `met in ${g.met} of ${g.judged} rounds (${verdicts.join('; ')})`;
    return `${prefix}issue 5 target ${g.text}: ${tally}`;
  });
}

/** Every scenario's targets in one list, for the end of a run. */
export function goalSummary(reports: ScenarioReport[]): string[] {
  const all = reports.flatMap((report) => report.goals);
  if (!all.length) return [];
  const always = all.filter((g) => g.judged > 0 && g.met === g.judged).length;
  const unjudged = all.filter((g) => g.judged === 0).length;
  const note = unjudged ? ` (${unjudged} not judged: a server or figure they need did not run)` : '';
  return [`issue 5 targets met in every round: ${always} of ${all.length}${note}`, ...reports.flatMap((report) => goalLines(report, `${report.scenario}: `))];
}

/** Rows of cells: figure, each target, then sse-chat / each peer that ran. */
function rows(report: ScenarioReport): string[][] {
  const names = figureNames(report.results);
  const peerRatios = PEERS.map((peer) => [peer, ratios(report, peer)] as const).filter(([, r]) => r !== null);
  const header = ['figure', ...report.results.map((r) => r.target), ...peerRatios.map(([peer]) => `sse-chat/${peer}`)];
  const body = names.map((name) => [
    name,
    ...report.results.map((r) => (r.error ? 'n/a' : withRange(r, name))),
    ...peerRatios.map(([, r]) => format(r![name])),
  ]);
  return [header, ...body];
}

export function textTable(report: ScenarioReport): string {
  const table = rows(report);
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const line = (row: string[]) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  const rounds = report.rounds > 1 ? ` (medians [min-max] of ${report.rounds} rounds, target order alternating)` : '';
  const out = [`== ${report.scenario}: ${report.title}${rounds}`, line(table[0]!), ...table.slice(1).map(line)];
  for (const goal of goalLines(report)) out.push(`  ${goal}`);
  for (const result of report.results) {
    if (result.error) out.push(`  ${result.target}: not run: ${result.error}`);
    for (const note of result.notes) out.push(`  ${result.target}: ${note}`);
    if (result.steps) {
      const steps = result.steps.map(
        (s) => `${s.rate_msgs_per_s}/s: ${format(s.delivered_per_s)} deliv/s p99 ${format(s.p99_ms)} ms ratio ${format(s.delivery_ratio)} other ${format(s.other_cpu_pct)}%`,
      );
      out.push(`  ${result.target} steps: ${steps.join(' | ')}`);
    }
  }
  return out.join('\n');
}

export function markdownTable(report: ScenarioReport): string {
  const table = rows(report);
  const line = (row: string[]) => `| ${row.join(' | ')} |`;
  const rounds = report.rounds > 1 ? ` (medians [min-max] of ${report.rounds} rounds)` : '';
  const out = [`### ${report.scenario}: ${report.title}${rounds}`, '', line(table[0]!), line(table[0]!.map((_, i) => (i === 0 ? '---' : '---:'))), ...table.slice(1).map(line), ''];
  for (const goal of goalLines(report)) out.push(`- ${goal}`);
  for (const result of report.results) {
    if (result.error) out.push(`- ${result.target}: not run: ${result.error}`);
    for (const note of result.notes) out.push(`- ${result.target}: ${note}`);
    if (result.steps) {
      const steps = result.steps.map((s) => `${s.rate_msgs_per_s}/s: ${format(s.delivered_per_s)}, ${format(s.p99_ms)} ms, ${format(s.delivery_ratio)}, ${format(s.other_cpu_pct)}%`);
      out.push(`- ${result.target} steps (rate: delivered/s, p99, delivery ratio, other load): ${steps.join('; ')}`);
    }
  }
  return out.join('\n');
}

/** One line per scenario: every figure of every target and the ratio sse-chat / peer for each. */
export function jsonLine(report: ScenarioReport): string {
  const figures: Record<string, SummarizedResult['figures'] | { error: string }> = {};
  for (const result of report.results) figures[result.target] = result.error ? { error: result.error } : result.figures;
  return JSON.stringify({
    scenario: report.scenario,
    peer: 'nchan',
    ratio: ratios(report, 'nchan'),
    ratio_vs_naive: ratios(report, 'naive'),
    ratio_vs_raw_net: ratios(report, 'raw-net'),
    rounds: report.rounds,
    goals: report.goals.map((g) => ({ goal: g.text, met: g.met, judged: g.judged, per_round: g.perRound, steal_per_round: g.stealPerRound })),
    figures,
  });
}
