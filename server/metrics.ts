// Prometheus metrics of one node. Everything is read from the node's parts when scraped (gauges)
// or from the Hub's running totals (counters), so the hot path only adds to plain numbers.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Broker } from './broker/broker.js';
import type { Config } from './config.js';
import type { Hub, HubStats } from './hub.js';
import type { PostLaneStats } from './http/post-lane.js';

export function createMetrics(config: Readonly<Config>, hub: Hub, broker: Broker, postLane: PostLaneStats | null = null): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: config.nodeId, region: config.region });
  collectDefaultMetrics({ register: registry, prefix: 'sse_chat_' });
  const registers = [registry];

  new Gauge({ name: 'sse_chat_viewers', help: 'Open event streams on this node', registers, collect() { this.set(hub.viewerCount); } });
  new Gauge({ name: 'sse_chat_streams_subscribed', help: 'Streams this node holds a broker subscription for', registers, collect() { this.set(hub.subscribedCount); } });
  new Gauge({ name: 'sse_chat_broker_up', help: '1 while the broker is reachable, else 0', registers, collect() { this.set(broker.isReady() ? 1 : 0); } });

  // Counters follow running totals: each scrape adds what was counted since the last one.
  const counter = (name: string, help: string, total: () => number) => {
    let reported = 0;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const now = total();
        this.inc(now - reported);
        reported = now;
      },
    });
  };
  const hubCounter = (name: string, help: string, key: keyof HubStats) => counter(name, help, () => hub.stats[key]);
  hubCounter('sse_chat_messages_total', 'Messages the broker delivered to this node', 'messages');
  hubCounter('sse_chat_deliveries_total', 'Message frames queued to viewers on this node', 'deliveries');
  hubCounter('sse_chat_slow_viewers_cut_total', 'Viewers cut off for falling SLOW_CLIENT_BYTES behind', 'slowViewersCut');
  hubCounter('sse_chat_resets_total', 'event: reset sent to viewers (messages lost to them)', 'resets');
  // Always there (0 where the lane is not used), so a dashboard's query works on every node.
  counter('sse_chat_post_lane_posts_total', 'Posts read by the native post lane (POST_LANE) rather than by Node', () => postLane?.posts ?? 0);
  counter('sse_chat_post_lane_fanout_posts_total', 'Posts the native post lane also wrote to their small room\'s viewers itself', () => postLane?.fannedOut ?? 0);
  return registry;
}
