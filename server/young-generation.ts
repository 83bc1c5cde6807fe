// Whether V8's scavenges (the young generation's collections) run on helper threads. On a node
// that may use one CPU (taskset, a cpuset of one), a helper cannot run beside the event loop: it
// takes turns with it on the same core, and the event loop waits for its core meanwhile. Each
// scavenge here keeps 50 KB or so alive, too little for a second thread to win back its wake-up.
// Measured in bench rooms (1,000 msg/s, server on one core): the event loop's wait for its core
// fell from a median of 75 ms to 29 per 10 s, and a scavenge's pause from 1.2-1.5 ms (0.5-0.7 of
// it spent meanwhile by the helper) to 0.7-1.5; see BENCHMARKS.md.
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';

export type ParallelScavengeSetting = 'auto' | 'on' | 'off';

export interface ParallelScavengeChoice {
  parallel: boolean;
  why: string;
}

/** `auto` turns helpers off where the process may run on one CPU only. */
export function chooseParallelScavenge(setting: ParallelScavengeSetting, cpus: number): ParallelScavengeChoice {
  if (setting === 'on') return { parallel: true, why: 'PARALLEL_SCAVENGE=on' };
  if (setting === 'off') return { parallel: false, why: 'PARALLEL_SCAVENGE=off' };
  return cpus > 1 ? { parallel: true, why: `${cpus} CPUs available` } : { parallel: false, why: 'one CPU available' };
}

/**
 * Applies the choice for the rest of the process: V8 reads the flag at every scavenge (checked on
 * Node 20, 22 and 24 with --trace-gc-nvp: no background scavenging after it). `on` changes nothing.
 */
export function applyParallelScavenge(
  setting: ParallelScavengeSetting,
  cpus: number = availableParallelism(),
  setFlags: (flags: string) => void = setFlagsFromString,
): ParallelScavengeChoice {
  const choice = chooseParallelScavenge(setting, cpus);
  if (!choice.parallel) setFlags('--no-parallel-scavenge');
  return choice;
}
