// The Redis Cluster for the cross-node scenario comes from the test harness
// (test/helpers/redis-cluster.ts), loaded at run time so the bench still builds and runs its
// single-node scenarios without it. It is started from this (pinned) process, so its nodes share
// the load generator's core, not the servers'.
import { readFileSync } from 'node:fs';
import { processTree } from './procstat.js';

export interface RedisClusterHandle {
  /** host:port of every node (masters and replicas). */
  nodes: string[];
  /** The redis-server processes, for their CPU time. */
  pids(): number[];
  stop(): Promise<void>;
}

interface HarnessCluster {
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

const harnessPath = new URL('../test/helpers/redis-cluster.js', import.meta.url).href;

function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return '';
  }
}

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  let harness: { startRedisCluster(): Promise<HarnessCluster> };
  try {
    harness = (await import(harnessPath)) as typeof harness;
  } catch (error) {
    throw new Error(`the Redis Cluster harness (dist/test/helpers/redis-cluster.js) is not built: ${(error as Error).message}`);
  }
  const cluster = await harness.startRedisCluster();
  return {
    nodes: cluster.nodes.map((node) => `${node.host}:${node.port}`),
    pids: () => processTree(process.pid).filter((pid) => commandName(pid) === 'redis-server'),
    stop: () => cluster.stop(),
  };
}
