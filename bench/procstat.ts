// CPU time, run-queue wait and resident memory of processes, read from /proc, so the figures hold
// however busy the rest of the machine is. A server is a process tree (nginx: master and worker).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

interface StatFields {
  ppid: number;
  /** utime + stime, in seconds. */
  cpuSeconds: number;
}

/** The text of /proc/PID/<name>, or null once the process is gone. */
function procFile(pid: number, name: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'latin1');
  } catch {
    return null;
  }
}

/** `value` summed over `pids`; a process that is gone gives 0. */
function sumOver(pids: number[], value: (pid: number) => number): number {
  let total = 0;
  for (const pid of pids) total += value(pid);
  return total;
}

/**
 * The fields of /proc/PID/stat from field 3 (state) on, so that field N is at index N - 3; null
 * once the process is gone.
 */
export function statFields(pid: number): string[] | null {
  const text = procFile(pid, 'stat');
  if (text === null) return null;
  // The command name (field 2) may hold spaces; the fields after it start past the last ')'.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

function readStat(pid: number): StatFields | null {
  const fields = statFields(pid);
  if (fields === null) return null;
  // ppid is field 4, utime 14, stime 15.
  return {
    ppid: Number(fields[1]),
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond,
  };
}

/** `pid` and all its descendants that are alive now. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const visit = (p: number) => {
    tree.push(p);
    for (const child of children.get(p) ?? []) visit(child);
  };
  if (readStat(pid)) visit(pid);
  return tree;
}

/**
 * What `read` gives for `pids` now, less `before` (what it gave at the start), or NaN when one of
 * them has exited since: /proc forgets a process's times when it goes, and the difference would
 * come out too small or negative (a server killed mid-window read -5.94 CPU seconds). Not known
 * rather than wrong: the reports show NaN as '-' and judge no target on it.
 */
export function sinceStart(pids: number[], before: number, read: (pids: number[]) => number): number {
  if (pids.some((pid) => statFields(pid) === null)) return NaN;
  return read(pids) - before;
}

/** utime + stime in seconds, summed over `pids` (processes that are gone count as 0). */
export function cpuSeconds(pids: number[]): number {
  return sumOver(pids, (pid) => readStat(pid)?.cpuSeconds ?? 0);
}

/**
 * Seconds the processes' main threads spent ready to run while their core ran something else
 * (the run-queue delay, field 2 of /proc/PID/schedstat), summed over `pids`. A server pinned to
 * one core waits there for its own helper threads (V8's compiler and GC) and for whatever else
 * the machine schedules on that core; each millisecond of it is a millisecond of latency for the
 * messages in flight, whatever the server's own speed.
 */
export function runQueueWaitSeconds(pids: number[]): number {
  return sumOver(pids, (pid) => Number(procFile(pid, 'schedstat')?.trim().split(' ')[1] ?? 0) / 1e9);
}

/** VmRSS in bytes, summed over `pids`. */
export function rssBytes(pids: number[]): number {
  return sumOver(pids, (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(procFile(pid, 'status') ?? '')?.[1] ?? 0) * 1024);
}

export interface MachineTimes {
  /** CPU seconds the machine's processes and kernel spent busy, all cores, steal excluded. */
  busy: number;
  /** CPU seconds the hypervisor ran something else while this VM wanted to run (steal). */
  steal: number;
}

/** From the first line of /proc/stat: user nice system idle iowait irq softirq steal guest guest_nice. */
export function machineTimes(): MachineTimes {
  const fields = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // guest and guest_nice are already counted in user and nice.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return { busy: (user + nice + system + irq + softirq) / ticksPerSecond, steal: steal / ticksPerSecond };
}
