// `npm run bench [-- scenario... --targets a,b --rounds N --quick --cold --workers N]`: runs each
// scenario against sse-chat and its peers (N rounds, the order of the servers alternating), the
// servers pinned to core 0 and this process with its load generator workers pinned to core 1, and
// prints a table, the verdict on issue 5's targets and one JSON line per scenario.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { LoadGenerator, type SubscriberKind } from './loadgen/loadgen.js';
import { buildNativeSubscriber } from './loadgen/native.js';
import type { TargetContext } from './measure.js';
import { startRedisCluster, type RedisClusterHandle } from './redis.js';
import { judgeScenario } from './goals.js';
import { goalSummary, jsonLine, markdownTable, textTable, type ScenarioReport } from './report.js';
import { roundOrder, summarizeRounds } from './rounds.js';
import { FULL_SCALE, QUICK_SCALE, SCENARIOS, type Scale, type Scenario, type TargetResult } from './scenarios.js';
import { ALL_TARGETS, repoRoot, startServer, unavailableReason, type TargetName } from './targets.js';

interface Options {
  scenarios: Scenario[];
  targets: TargetName[];
  scale: Scale;
  workers: number;
  subscriber: 'native' | 'node';
  pin: boolean;
  rounds: number;
  /** --quick: small sizes, so the targets (set for the full sizes) are not judged. */
  quick: boolean;
}

const USAGE = `usage: npm run bench -- [scenario...] [--targets ${ALL_TARGETS.join(',')}] [--rounds N] [--quick] [--cold] [--subscriber native|node] [--workers N] [--no-pin]
scenarios: ${SCENARIOS.map((s) => s.name).join(', ')} (fanout = both fan-out rates; default: all)`;

function parseArgs(argv: string[]): Options {
  const options: Options = { scenarios: [], targets: [...ALL_TARGETS], scale: FULL_SCALE, workers: 1, subscriber: 'native', pin: true, rounds: 1, quick: false };
  let cold = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') {
      options.scale = QUICK_SCALE;
      options.quick = true;
    }
    else if (arg === '--cold') cold = true;
    else if (arg === '--no-pin') options.pin = false;
    else if (arg === '--workers') options.workers = Math.max(1, Number(argv[++i]));
    else if (arg === '--rounds') {
      options.rounds = Number(argv[++i]);
      if (!Number.isInteger(options.rounds) || options.rounds < 1 || options.rounds > 20) throw new Error(`--rounds takes 1..20\n${USAGE}`);
    }
    else if (arg === '--subscriber') {
      const kind = argv[++i];
      if (kind !== 'native' && kind !== 'node') throw new Error(`--subscriber takes native or node\n${USAGE}`);
      options.subscriber = kind;
    }
    else if (arg === '--targets') {
      options.targets = (argv[++i] ?? '').split(',').filter(Boolean) as TargetName[];
      const unknown = options.targets.filter((t) => !ALL_TARGETS.includes(t));
      if (unknown.length) throw new Error(`unknown target ${unknown.join(', ')}\n${USAGE}`);
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      const matches = SCENARIOS.filter((s) => s.name === arg || (arg === 'fanout' && s.name.startsWith('fanout-')));
      if (!matches.length) throw new Error(`unknown scenario ${arg}\n${USAGE}`);
      options.scenarios.push(...matches);
    }
  }
  if (!options.scenarios.length) options.scenarios = [...SCENARIOS];
  // --cold: measure from the first message on, without the warm-up window.
  if (cold) options.scale = { ...options.scale, warmupS: 0, publishWarmupS: 0 };
  return options;
}

/** Pins this process (every thread) and so the workers it forks to core 1, away from the servers. */
function pinSelf(pin: boolean): string | null {
  if (!pin) return null;
  if (cpus().length < 2) {
    console.log('one core only: not pinning');
    return null;
  }
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  return '0';
}

function machine(): Record<string, string> {
  const run = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
    } catch (error) {
      return ((error as { stderr?: Buffer }).stderr?.toString() ?? '').trim() || 'unknown';
    }
  };
  return {
    date: new Date().toISOString(),
    cpu: `${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}`,
    kernel: run('uname', ['-r']),
    node: process.version,
    nginx: run('sh', ['-c', 'nginx -v 2>&1']).replace('nginx version: ', ''),
    nchan: run('dpkg-query', ['-W', '-f=${Version}', 'libnginx-mod-nchan']),
    commit: run('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']),
  };
}

interface StartedTarget {
  ctx: TargetContext;
  stop(): Promise<void>;
}

/** Starts `target` for `scenario` with its own load generator; an error result when it cannot run. */
async function startTarget(
  scenario: Scenario,
  target: TargetName,
  options: Options,
  subscriberKind: SubscriberKind,
  serverCpu: string | null,
  /** Unique per run and round: the Redis Cluster outlives the rounds, so stream names must not repeat. */
  runTag: string,
  redis: RedisClusterHandle | null,
  notes: string[],
): Promise<StartedTarget | { error: string }> {
  const reason = unavailableReason(target);
  if (reason) return { error: reason };
  if (scenario.needsRedis && !redis) return { error: 'no Redis Cluster (see the cross-node note above)' };
  const short = { 'sse-chat': 'sse', nchan: 'nch', naive: 'nai', 'raw-net': 'raw' }[target];
  const streams = Array.from({ length: scenario.streamCount(options.scale) }, (_, i) => `${runTag}-${scenario.name}-${short}-${i}`);
  let server;
  try {
    server = await startServer(target, {
      nodes: scenario.nodes,
      redisNodes: redis?.nodes.join(','),
      cpu: serverCpu,
      logDir: `${repoRoot}bench/results/logs`,
      label: `${runTag}-${scenario.name}`,
    });
  } catch (error) {
    return { error: (error as Error).message.split('\n').slice(0, 4).join(' / ') };
  }
  const loadgen = LoadGenerator.start(options.workers, subscriberKind);
  const ctx: TargetContext = { server, loadgen, streams, cumulative: streams.map(() => 0), sharedPids: () => redis?.pids() ?? [], notes };
  return {
    ctx,
    async stop() {
      await loadgen.closeConnections().catch(() => {});
      await loadgen.close();
      await server.stop();
    },
  };
}

/** One round of `scenario`: each target alone in turn, or (runTogether) all of them started at once. */
async function runRound(scenario: Scenario, targets: TargetName[], options: Options, subscriberKind: SubscriberKind, serverCpu: string | null, runTag: string, redis: RedisClusterHandle | null, label: string): Promise<TargetResult[]> {
  const stamp = (error: string | undefined, started: number) =>
    console.log(error ? `not run (${error.split('\n')[0]})` : `done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (scenario.runTogether) {
    process.stdout.write(`${scenario.name} / ${targets.join(' + ')}${label} ... `);
    const started = Date.now();
    const results: TargetResult[] = targets.map((target) => ({ target, figures: {}, notes: [] }));
    const running: StartedTarget[] = [];
    try {
      for (const [index, target] of targets.entries()) {
        const start = await startTarget(scenario, target, options, subscriberKind, serverCpu, runTag, redis, results[index]!.notes);
        if ('error' in start) results[index]!.error = start.error;
        else running.push(start);
      }
      const measured = await scenario.runTogether(running.map((started) => started.ctx), options.scale);
      const ran = results.filter((result) => !result.error);
      measured.forEach((outcome, index) => Object.assign(ran[index]!, outcome));
    } catch (error) {
      for (const result of results) result.error ??= (error as Error).stack ?? String(error);
    } finally {
      for (const target of running) await target.stop();
    }
    stamp(results.every((result) => result.error) ? results[0]!.error : undefined, started);
    return results;
  }
  const results: TargetResult[] = [];
  for (const target of targets) {
    process.stdout.write(`${scenario.name} / ${target}${label} ... `);
    const started = Date.now();
    const result: TargetResult = { target, figures: {}, notes: [] };
    const start = await startTarget(scenario, target, options, subscriberKind, serverCpu, runTag, redis, result.notes);
    if ('error' in start) result.error = start.error;
    else {
      try {
        Object.assign(result, await scenario.run!(start.ctx, options.scale));
      } catch (error) {
        result.error = (error as Error).stack ?? String(error);
      } finally {
        await start.stop();
      }
    }
    stamp(result.error, started);
    results.push(result);
  }
  return results;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const serverCpu = pinSelf(options.pin);
  if (options.targets.includes('nchan')) execFileSync('bash', [`${repoRoot}bench/peers/nchan/nchan.sh`, 'install'], { stdio: 'inherit' });
  let subscriberKind: SubscriberKind = { kind: 'node' };
  if (options.subscriber === 'native') {
    const built = buildNativeSubscriber();
    if ('path' in built) subscriberKind = { kind: 'native', path: built.path };
    else console.log(`native subscriber not built (${built.error}); using the Node subscriber`);
  }
  const info = { ...machine(), subscriber: subscriberKind.kind };
  const runTag = Date.now().toString(36);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  console.log(`sse-chat bench ${runTag}: ${command}`);
  console.log(Object.entries(info).map(([k, v]) => `${k}: ${v}`).join('; '));
  console.log(
    `servers on core ${serverCpu ?? 'any'}; load generator (${options.workers} ${subscriberKind.kind} subscriber process(es) + 1 publisher) on core ${serverCpu === null ? 'any' : '1'}\n`,
  );

  const reports: ScenarioReport[] = [];
  const allRounds: { scenario: string; rounds: TargetResult[][] }[] = [];
  for (const scenario of options.scenarios) {
    const targets = scenario.targets.filter((t) => options.targets.includes(t));
    if (!targets.length) continue;
    let redis: RedisClusterHandle | null = null;
    if (scenario.needsRedis) {
      try {
        redis = await startRedisCluster();
      } catch (error) {
        console.log(`${scenario.name}: no Redis Cluster: ${(error as Error).message}`);
      }
    }
    const rounds: TargetResult[][] = [];
    try {
      for (let round = 0; round < options.rounds; round++) {
        const label = options.rounds > 1 ? ` (round ${round + 1} of ${options.rounds})` : '';
        const tag = options.rounds > 1 ? `${runTag}r${round}` : runTag;
        rounds.push(await runRound(scenario, roundOrder(targets, round), options, subscriberKind, serverCpu, tag, redis, label));
      }
    } finally {
      await redis?.stop();
    }
    const figuresOf = (results: TargetResult[], target: TargetName) => {
      const result = results.find((r) => r.target === target);
      return result && !result.error ? result.figures : undefined;
    };
    // The targets' fixed bounds are for the full sizes (15,000 idle viewers, 1,000 msg/s ...).
    const goals = options.quick
      ? []
      : judgeScenario(
          scenario.name,
          rounds.map((results) => ({ ours: figuresOf(results, 'sse-chat'), peers: { nchan: figuresOf(results, 'nchan') } })),
        );
    const report: ScenarioReport = { scenario: scenario.name, title: scenario.title, results: summarizeRounds(targets, rounds), rounds: options.rounds, goals };
    reports.push(report);
    allRounds.push({ scenario: scenario.name, rounds });
    console.log(`\n${textTable(report)}\n${jsonLine(report)}\n`);
  }

  const outDir = `${repoRoot}bench/results`;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${outDir}/${runTag}.json`, JSON.stringify({ runTag, command, machine: info, scale: options.scale, reports, rounds: allRounds }, null, 2));
  const summary = goalSummary(reports);
  const markdown = [
    `Run ${runTag}, \`${command}\``,
    '',
    ...Object.entries(info).map(([k, v]) => `- ${k}: ${v}`),
    '',
    ...summary.map((line) => `- ${line}`),
    '',
    ...reports.map(markdownTable),
  ].join('\n');
  writeFileSync(`${outDir}/latest.md`, markdown);
  if (summary.length) console.log(`${summary.join('\n')}\n`);
  console.log(`results: bench/results/${runTag}.json, bench/results/latest.md`);
}

main().catch((error: unknown) => {
  console.error((error as Error).message ?? error);
  process.exit(1);
});
