// Prometheus metrics of one node. Everything is read from the node's parts when scraped (gauges)
// or from the Hub's running totals (counters), so the hot path only adds to plain numbers.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Broker } from './broker/broker.js';
import type { Config } from './config.js';
import type { Hub, HubStats } from './hub.js';

export function createMetrics(config: Readonly<Config>, hub: Hub, broker: Broker): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: config.nodeId, region: config.region });
  collectDefaultMetrics({ register: registry, prefix: 'sse_chat_' });
  const registers = [registry];

  new Gauge({ name: 'sse_chat_viewers', help: 'Open event streams on this node', registers, collect() { this.set(hub.viewerCount); } });
  new Gauge({ name: 'sse_chat_streams_subscribed', help: 'Streams this node holds a broker subscription for', registers, collect() { this.set(hub.subscribedCount); } });
  new Gauge({ name: 'sse_chat_broker_up', help: '1 while the broker is reachable, else 0', registers, collect() { this.set(broker.isReady() ? 1 : 0); } });

  // Counters follow the Hub's totals: each scrape adds what was counted since the last one.
  const counter = (name: string, help: string, key: keyof HubStats) => {
    let reported = 0;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const total = hub.stats[key];
        this.inc(total - reported);
        reported = total;
      },
    });
  };
  counter('sse_chat_messages_total', 'Messages the broker delivered to this node', 'messages');
  counter('sse_chat_deliveries_total', 'Message frames queued to viewers on this node', 'deliveries');
  counter('sse_chat_slow_viewers_cut_total', 'Viewers cut off for falling SLOW_CLIENT_BYTES behind', 'slowViewersCut');
  counter('sse_chat_resets_total', 'event: reset sent to viewers (messages lost to them)', 'resets');
  return registry;
}
