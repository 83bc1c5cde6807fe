// /metrics tells an operator what the node carries: viewers, subscriptions, broker health and
// message and delivery totals, labelled with the node and region.
import assert from 'node:assert/strict';
import request from 'supertest';
import type { RunningNode } from '../../server/node.js';
import { startTestNode } from '../helpers/node.js';
import { openSse } from '../helpers/sse-reader.js';

function value(text: string, name: string): number {
  const line = text.split('\n').find((entry) => entry.startsWith(`${name}{`));
  if (!line) throw new Error(`no ${name} in\n${text.slice(0, 500)}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('one node: metrics', function () {
  let node: RunningNode;
  before(async () => {
    node = await startTestNode({ NODE_ID: 'metrics-node', REGION: 'eu-west' });
  });
  after(() => node.close());

  it('counts viewers, subscriptions, messages and deliveries, in Prometheus text format', async () => {
    const viewers = await Promise.all([0, 1, 2].map(() => openSse(`${node.url}/streams/counted/events`)));
    await openSse(`${node.url}/streams/other/events`).then((reader) => viewers.push(reader));
    for (const text of ['one', 'two']) await request(node.url).post('/streams/counted/messages').send({ author: 'a', text }).expect(201);
    await Promise.all(viewers.slice(0, 3).map((viewer) => viewer.messages(2)));

    const response = await request(node.url).get('/metrics').expect(200);
    assert.match(response.headers['content-type']!, /^text\/plain/);
    const text = response.text;
    assert.match(text, /sse_chat_viewers\{node="metrics-node",region="eu-west"\} 4/);
    assert.equal(value(text, 'sse_chat_streams_subscribed'), 2);
    assert.equal(value(text, 'sse_chat_broker_up'), 1);
    assert.equal(value(text, 'sse_chat_messages_total'), 2);
    assert.equal(value(text, 'sse_chat_deliveries_total'), 6);
    assert.match(text, /# TYPE sse_chat_deliveries_total counter/);
    assert.match(text, /sse_chat_process_resident_memory_bytes/);

    // A counter keeps its total across scrapes.
    const again = await request(node.url).get('/metrics').expect(200);
    assert.equal(value(again.text, 'sse_chat_deliveries_total'), 6);
    for (const viewer of viewers) viewer.close();
  });
});
