// Picks the broker from the config: Redis (cluster or single) when configured, else in-memory.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Broker } from './broker.js';
import { MemoryBroker } from './memory.js';

export async function createBroker(config: Readonly<Config>, logger: Logger): Promise<Broker> {
  const history = { historySize: config.historySize, historyMaxAgeMs: config.historyMaxAgeMs, nodeId: config.nodeId, region: config.region };
  if (!config.redis) return new MemoryBroker(history);
  // Loaded only when configured, so the embedded default never loads ioredis.
  const { RedisBroker } = await import('./redis.js');
  return new RedisBroker({ ...history, redis: config.redis, logger: logger.child({ component: 'redis-broker' }) });
}
