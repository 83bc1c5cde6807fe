// `npm run cluster:local`: a Redis Cluster (3 masters, 3 replicas) and three sse-chat nodes in
// three "regions" on this machine, so a newcomer can watch cross-node chat in two browser tabs.
// Ctrl-C stops everything it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRedisCluster } from '../test/helpers/redis-cluster.js';
import { startNodeFlags } from './start-command.js';

const MAIN = fileURLToPath(new URL('../server/main.js', import.meta.url));
const basePort = Number(process.env.BASE_PORT ?? 3001);
const regions = ['eu-west', 'us-east', 'ap-south'];

const cluster = await startRedisCluster();
console.log(`Redis Cluster up: ${cluster.envValue}`);

const nodes: ChildProcess[] = regions.map((region, index) => {
  const port = basePort + index;
  const child = spawn(process.execPath, [...startNodeFlags(), MAIN], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: process.env.HOST ?? '127.0.0.1',
      NODE_ID: `node-${index + 1}`,
      REGION: region,
      REDIS_CLUSTER_NODES: cluster.envValue,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  console.log(`node-${index + 1} (${region}): http://localhost:${port}`);
  return child;
});
console.log('Open two of these in two tabs, join the same stream, and post. Ctrl-C stops all.');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    nodes.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await cluster.stop();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
