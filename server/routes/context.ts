// What every route module is given: the node's config, broker and hub, built once in app.ts.
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { Config } from '../config.js';
import type { Hub } from '../hub.js';
import type { PostLaneStats } from '../http/post-lane.js';
import type { PostRateLimit } from '../http/post-rate-limit.js';
import type { SseConnectionOptions } from '../sse/connection.js';
import type { WriteScheduler } from '../sse/write-scheduler.js';

export interface AppContext {
  config: Readonly<Config>;
  broker: Broker;
  hub: Hub;
  scheduler: WriteScheduler;
  /** Shared by every viewer of the node: one object, not one per connection. */
  sseOptions: Readonly<SseConnectionOptions>;
  logger: Logger;
  /** One count per client for both ways a post arrives; null when RATE_LIMIT_POSTS is 0. */
  postRateLimit: PostRateLimit | null;
  /** The native post lane's totals, where the node uses it (http/post-lane.ts). */
  postLaneStats: PostLaneStats | null;
  /** True once shutdown began: new streams are refused so clients go to another node. */
  isShuttingDown(): boolean;
}
