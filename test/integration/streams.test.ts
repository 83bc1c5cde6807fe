// The one-node HTTP contract through real HTTP on an ephemeral port: posting, live delivery,
// resume, reset, heartbeat, slow viewers and history.
import assert from 'node:assert/strict';
import net from 'node:net';
import { EventSource } from 'eventsource';
import request from 'supertest';
import { BrokerUnavailableError } from '../../server/broker/broker.js';
import type { StreamListener } from '../../server/broker/broker.js';
import { MemoryBroker } from '../../server/broker/memory.js';
import type { RunningNode } from '../../server/node.js';
import { brokerThatCannotSubscribe, startTestNode } from '../helpers/node.js';
import { openSse, readBody, type SseReader } from '../helpers/sse-reader.js';
import { waitUntil } from '../helpers/wait.js';

const post = (node: RunningNode, stream: string, author: string, text: string) =>
  request(node.url).post(`/streams/${stream}/messages`).send({ author, text }).expect(201);

describe('one node: streams', function () {
  let node: RunningNode;
  const readers: SseReader[] = [];
  const open = async (path: string, headers?: Record<string, string>) => {
    const reader = await openSse(node.url + path, headers);
    readers.push(reader);
    return reader;
  };

  before(async () => {
    node = await startTestNode({ HISTORY_SIZE: '20', HEARTBEAT_MS: '200' });
  });
  afterEach(() => {
    for (const reader of readers.splice(0)) reader.close();
  });
  after(() => node.close());

  it('delivers a posted message to two viewers, once each, with id and no event name', async () => {
    const first = await open('/streams/lobby/events');
    const second = new EventSource(`${node.url}/streams/lobby/events`);
    const received: MessageEvent[] = [];
    const opened = new Promise<void>((resolve) => (second.onopen = () => resolve()));
    const gotOne = new Promise<void>((resolve) => {
      second.onmessage = (event) => {
        received.push(event);
        resolve();
      };
    });
    try {
      await opened;
      assert.equal(first.status, 200);
      assert.match(String(first.headers['content-type']), /^text\/event-stream/);
      assert.equal(first.headers['cache-control'], 'no-cache, no-transform');
      assert.equal(first.headers['x-accel-buffering'], 'no');
      const { body: stored } = await post(node, 'lobby', 'ada', 'hello all');
      assert.deepEqual(Object.keys(stored).sort(), ['author', 'id', 'node', 'region', 'stream', 'text', 'ts']);
      assert.match(stored.id, /^\d+-\d+$/);
      const [event] = await first.messages(1);
      assert.equal(event!.id, stored.id);
      assert.equal(event!.event, undefined);
      assert.deepEqual(JSON.parse(event!.data), stored);
      await gotOne;
      assert.equal(received[0]!.lastEventId, stored.id);
      assert.deepEqual(JSON.parse(received[0]!.data), stored);
      assert.equal(first.retry, 2000, 'retry sent once at the start');
    } finally {
      second.close();
    }
  });

  it('keeps one order for concurrent posts, ids strictly increasing', async () => {
    const reader = await open('/streams/busy/events');
    const posted = await Promise.all(Array.from({ length: 100 }, (_, index) => post(node, 'busy', 'bot', `m${index}`)));
    const events = await reader.messages(100);
    const ids = events.map((event) => event.id!);
    assert.deepEqual([...ids].sort(compareIds), ids, 'delivered in id order');
    assert.equal(new Set(ids).size, 100, 'no duplicates');
    assert.deepEqual(new Set(ids), new Set(posted.map((response) => response.body.id)));
  });

  it('resumes after Last-Event-ID with exactly the missed messages, then live ones', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) ids.push((await post(node, 'resume', 'ada', `r${index}`)).body.id);
    const reader = await open('/streams/resume/events', { 'Last-Event-ID': ids[1]! });
    const replayed = await reader.messages(3);
    assert.deepEqual(replayed.map((event) => event.id), ids.slice(2));
    const live = (await post(node, 'resume', 'ada', 'live')).body.id;
    const all = await reader.messages(4);
    assert.deepEqual(all.map((event) => event.id), [...ids.slice(2), live]);
    assert.ok(!reader.events.some((event) => event.event === 'reset'));
  });

  it('resumes from ?lastEventId= for a page reopened later; the header wins over the query', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 4; index++) ids.push((await post(node, 'reopen', 'ada', `o${index}`)).body.id);
    const byQuery = await open(`/streams/reopen/events?lastEventId=${ids[0]}`);
    assert.deepEqual((await byQuery.messages(3)).map((event) => event.id), ids.slice(1));
    const both = await open(`/streams/reopen/events?lastEventId=${ids[0]}`, { 'Last-Event-ID': ids[2]! });
    assert.deepEqual((await both.messages(1)).map((event) => event.id), [ids[3]]);
  });

  it('sends event: reset before the retained history when the id is older than it', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 25; index++) ids.push((await post(node, 'trimmed', 'ada', `t${index}`)).body.id);
    const reader = await open('/streams/trimmed/events', { 'Last-Event-ID': ids[0]! });
    await reader.until((r) => r.events.filter((event) => !event.event).length >= 20, 5000, 'retained history');
    assert.equal(reader.events[0]!.event, 'reset');
    assert.deepEqual(JSON.parse(reader.events[0]!.data), { lost: 'unknown' });
    assert.deepEqual(reader.events.slice(1).map((event) => event.id), ids.slice(5), 'the 20 retained, in order');

    const fromStart = await open('/streams/trimmed/events?lastEventId=0-0');
    await fromStart.messages(20);
    assert.deepEqual(JSON.parse(fromStart.events[0]!.data), { lost: 5 }, 'from 0 the count of trimmed is known');
  });

  it('replays a history larger than the slow-viewer bound without cutting the viewer', async () => {
    const big = await startTestNode({ SLOW_CLIENT_BYTES: '65536', HISTORY_SIZE: '500' });
    try {
      let first = '';
      for (let index = 0; index < 500; index++) {
        const message = await big.broker.publish('long', { author: 'bot', text: `${index} ${'y'.repeat(1900)}` });
        first ||= message.id;
      }
      const reader = await openSse(`${big.url}/streams/long/events`, { 'Last-Event-ID': first });
      const events = await reader.messages(499, 10_000);
      assert.equal(JSON.parse(events.at(-1)!.data).text.split(' ')[0], '499');
      assert.ok(!reader.isEnded());
      reader.close();
    } finally {
      await big.close();
    }
  });

  it('tells a viewer resuming from an id the stream never reached, then delivers live messages', async () => {
    // Such an id used as the resume mark held back every live message with a smaller id: silence.
    await post(node, 'ahead', 'ada', 'before');
    const future = `${Date.now() + 3_600_000}-0`;
    for (const stream of ['ahead', 'ahead-empty']) {
      const reader = await open(`/streams/${stream}/events`, { 'Last-Event-ID': future });
      const sent = [(await post(node, stream, 'ada', 'one')).body.id, (await post(node, stream, 'ada', 'two')).body.id];
      await reader.messages(2);
      assert.deepEqual(reader.events.map((event) => event.event ?? event.id), ['reset', ...sent], stream);
      assert.deepEqual(JSON.parse(reader.events[0]!.data), { lost: 'unknown' });
    }
    // An id the stream did reach is no such case: nothing to tell, and live messages follow.
    const newest = (await post(node, 'ahead', 'ada', 'newest')).body.id;
    const caughtUp = await open('/streams/ahead/events', { 'Last-Event-ID': newest });
    const next = (await post(node, 'ahead', 'ada', 'next')).body.id;
    await caughtUp.messages(1);
    assert.deepEqual(caughtUp.events.map((event) => event.event ?? event.id), [next]);
  });

  it('resumes a viewer whose id predates a restart that lost the in-memory history without telling it of a loss', async () => {
    // A restarted single node knows nothing of the stream; after a clean shutdown the viewer had
    // everything, so a reset would tell every viewer of every deploy that it missed messages.
    const before = `${Date.now() - 60_000}-3`;
    const reader = await open('/streams/restarted/events', { 'Last-Event-ID': before });
    const posted = (await post(node, 'restarted', 'ada', 'after the restart')).body.id;
    await reader.messages(1);
    assert.deepEqual(reader.events.map((event) => event.event ?? event.id), [posted]);
  });

  it('does not send reset when the id is the newest trimmed one\'s successor', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 22; index++) ids.push((await post(node, 'edge', 'ada', `e${index}`)).body.id);
    // ids[0] and ids[1] were trimmed; a viewer that saw ids[1] missed nothing that is gone.
    const reader = await open('/streams/edge/events', { 'Last-Event-ID': ids[1]! });
    const events = await reader.messages(20);
    assert.equal(events.length, 20);
    assert.ok(!reader.events.some((event) => event.event === 'reset'));
  });

  it('sends the html format as the escaped fragment the page appends', async () => {
    const reader = await open('/streams/xss/events?format=html');
    await post(node, 'xss', '<b>mallory</b>', '<img src=x onerror=alert(1)></li><script>alert(2)</script>\nsecond line');
    const [event] = await reader.messages(1);
    assert.ok(!/<script|<img|<b>/i.test(event!.data), event!.data);
    assert.match(event!.data, /&lt;img src=x onerror=alert\(1\)&gt;&lt;\/li&gt;&lt;script&gt;/);
    assert.match(event!.data, /&lt;b&gt;mallory&lt;\/b&gt;/);
    assert.match(event!.data, /^<li class="msg"/);
    assert.match(event!.data, /\nsecond line<\/p><\/li>$/, 'a line break travels as a second data line');
  });

  it('sends a heartbeat comment every HEARTBEAT_MS', async () => {
    const reader = await open('/streams/quiet/events');
    await reader.until((r) => r.comments.filter((comment) => comment === '').length >= 2, 3000, 'two heartbeats');
  });

  it('heartbeats only viewers nothing was written to for most of HEARTBEAT_MS, not those of a busy stream', async () => {
    // A node of its own with a longer interval, so a slow post round trip on a busy machine
    // cannot leave the busy viewer idle long enough to earn a heartbeat.
    const beatNode = await startTestNode({ HEARTBEAT_MS: '1000' });
    try {
      const quiet = await openSse(`${beatNode.url}/streams/hush/events`);
      const busy = await openSse(`${beatNode.url}/streams/chatter/events`);
      const beats = (reader: SseReader) => reader.comments.filter((comment) => comment === '').length;
      // Keep the busy stream busy (each post waits for the last to arrive) until the quiet viewer
      // had two heartbeats, i.e. two intervals went by.
      let sent = 0;
      while (beats(quiet) < 2) {
        await post(beatNode, 'chatter', 'ada', `m${sent}`);
        sent += 1;
        await busy.messages(sent);
      }
      assert.ok(sent > 3, `the busy stream got ${sent} messages`);
      assert.equal(beats(busy), 0, 'no heartbeat to a viewer that is being written to');
      quiet.close();
      busy.close();
    } finally {
      await beatNode.close();
    }
  });

  it('serves retained history as JSON, oldest first, with after and limit', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 6; index++) ids.push((await post(node, 'hist', 'ada', `h${index}`)).body.id);
    const all = await request(node.url).get('/streams/hist/messages').expect(200);
    assert.deepEqual(all.body.messages.map((m: { id: string }) => m.id), ids);
    const some = await request(node.url).get(`/streams/hist/messages?after=${ids[1]}&limit=2`).expect(200);
    assert.deepEqual(some.body.messages.map((m: { id: string }) => m.id), ids.slice(2, 4));
    assert.equal(some.body.gap, false);
    const none = await request(node.url).get('/streams/never-used/messages').expect(200);
    assert.deepEqual(none.body.messages, []);
  });

  it('unsubscribes a stream on this node once its last viewer leaves', async () => {
    const reader = await open('/streams/leaving/events');
    await reader.until(() => node.hub.isSubscribed('leaving'), 2000, 'subscription');
    reader.close();
    await waitUntil(() => !node.hub.isSubscribed('leaving'), 2000, 'unsubscribe');
  });

  it('answers HEAD of an event stream with its head alone: no viewer joins, the connection serves the next request', async () => {
    // HEAD, then a request pipelined behind it, on one connection.
    const socket = net.connect(Number(new URL(node.url).port), '127.0.0.1');
    socket.write('HEAD /streams/head-room/events HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    const [head, rest] = Buffer.concat(chunks).toString('utf8').split(/\r\n\r\n/);
    assert.match(head!, /^HTTP\/1\.1 200 /);
    assert.match(head!, /\r\ncontent-type: text\/event-stream; charset=utf-8\r\n/i);
    assert.match(rest!, /^HTTP\/1\.1 200 /, 'the next response follows the head at once: HEAD has no body');
    assert.equal(node.hub.isSubscribed('head-room'), false);
    assert.ok(!node.hub.activeStreams().some((active) => active.stream === 'head-room'));
    // Checked as GET checks it.
    await request(node.url).head('/streams/-bad/events').expect(400);
    await request(node.url).head('/streams/head-room/events?lastEventId=nope').expect(400);
  });

  it('lists streams with viewers on the landing page and on /healthz', async () => {
    const reader = await open('/streams/visible-room/events');
    await reader.until(() => node.hub.isSubscribed('visible-room'));
    const landing = await request(node.url).get('/').expect(200);
    assert.match(landing.text, /href="\/streams\/visible-room"/);
    const health = await request(node.url).get('/healthz').expect(200);
    assert.equal(health.body.broker, 'memory');
    assert.ok(health.body.viewers >= 1);
    const ready = await request(node.url).get('/readyz').expect(200);
    assert.deepEqual([ready.body.status, ready.body.broker], ['ready', 'memory']);
    assert.ok(ready.body.node && ready.body.region);
  });
});

describe('one node: the two ways an event stream is served', function () {
  let node: RunningNode;
  after(() => node?.close());

  it('a stream on a kept-alive connection (served by Express) behaves like a fresh one (fast path)', async () => {
    node = await startTestNode();
    const { Agent, get } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // The first request makes the connection the HTTP server's; the stream follows on it.
      const health = await new Promise<number>((resolve, reject) =>
        get(`${node.url}/healthz`, { agent }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        }).on('error', reject),
      );
      assert.equal(health, 200);
      const fast = await openSse(`${node.url}/streams/both/events`);
      const viaExpress = await new Promise<{ headers: Record<string, unknown>; text: () => string; reused: boolean }>((resolve, reject) => {
        const request = get(`${node.url}/streams/both/events`, { agent }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          resolve({ headers: response.headers, text: () => text, reused: request.reusedSocket });
        });
        request.on('error', reject);
      });
      assert.ok(viaExpress.reused, 'the second request went over the kept-alive connection');
      for (const name of ['content-type', 'cache-control', 'x-accel-buffering']) assert.equal(viaExpress.headers[name], fast.headers[name], name);
      const { body } = await post(node, 'both', 'ada', 'either way');
      await fast.messages(1);
      await waitUntil(() => viaExpress.text().includes(`id: ${body.id}\n`), 3000, 'the message on the Express-served stream');
      assert.match(viaExpress.text(), /^retry: 2000\n/);
      fast.close();
    } finally {
      agent.destroy();
    }
  });

  it('starts a stream pipelined behind a response still being sent after that response, head first', async function () {
    this.timeout(20_000);
    const big = await startTestNode({ MAX_TEXT_CHARS: '100000', MAX_BODY_BYTES: '200000', HISTORY_SIZE: '200' });
    const { connect } = await import('node:net');
    let socket: import('node:net').Socket | null = null;
    try {
      // About 12 MB of history: more than loopback's buffers hold while the client does not read.
      const text = 'x'.repeat(100_000);
      for (let index = 0; index < 120; index++) await post(big, 'big', 'ann', text);
      const raw = connect(Number(new URL(big.url).port), '127.0.0.1');
      socket = raw;
      await new Promise((resolve) => raw.once('connect', resolve));
      const chunks: Buffer[] = [];
      const firstBytes = new Promise<void>((resolve) =>
        raw.once('data', (chunk: Buffer) => {
          chunks.push(chunk);
          raw.pause();
          resolve();
        }),
      );
      // Both in one write: Express takes the history request, and the stream request behind it is
      // handled while the history is still being written.
      raw.write('GET /streams/big/messages?limit=120 HTTP/1.1\r\nHost: t\r\n\r\nGET /streams/piped/events HTTP/1.1\r\nHost: t\r\n\r\n');
      await firstBytes;
      // Posted while the history is unsent: its frame must not go out before the stream's head.
      await post(big, 'piped', 'bob', 'early');
      raw.on('data', (chunk: Buffer) => chunks.push(chunk));
      raw.resume();
      const received = () => Buffer.concat(chunks).toString('latin1');
      await waitUntil(() => /\r\n\r\n/.test(received()), 10_000, 'the history head');
      const historyLength = Number(/content-length: (\d+)/i.exec(received())![1]);
      const historyEnd = received().indexOf('\r\n\r\n') + 4 + historyLength;
      await waitUntil(() => received().length >= historyEnd + 16, 10_000, 'what follows the history');
      const afterHistory = received().slice(historyEnd);
      assert.ok(afterHistory.startsWith('HTTP/1.1 200 OK\r\n'), JSON.stringify(afterHistory.slice(0, 80)));
      await waitUntil(() => received().slice(historyEnd).includes(': connected'), 5000, 'the stream preamble');
      const { body } = await post(big, 'piped', 'bob', 'live');
      await waitUntil(() => received().includes(`id: ${body.id}\n`), 5000, 'the live message');
    } finally {
      socket?.destroy();
      await big.close();
    }
  });

  it('answers a fresh connection with a JSON 503 when the broker cannot subscribe', async () => {
    const down = await startTestNode({}, { broker: brokerThatCannotSubscribe() });
    try {
      const response = await fetch(`${down.url}/streams/s/events`);
      assert.equal(response.status, 503);
      assert.deepEqual(((await response.json()) as { error: { code: string } }).error.code, 'broker_unavailable');
    } finally {
      await down.close();
    }
  });
});

describe('one node: resume while live delivery lags', function () {
  it('never repeats a message whose live delivery arrives after the history that held it', async () => {
    // Live delivery lags behind the log (as Redis pub/sub can behind XRANGE): the Hub hears of a
    // message after a resuming viewer already got it from the history.
    const broker = new MemoryBroker({ historySize: 100, historyMaxAgeMs: 0, nodeId: 'n', region: 'r' });
    const subscribe = broker.subscribe.bind(broker);
    broker.subscribe = (stream, listener) =>
      subscribe(stream, { onMessage: (message) => setTimeout(() => listener.onMessage(message), 100), onGap: listener.onGap });
    const node = await startTestNode({}, { broker });
    const readers: SseReader[] = [];
    try {
      const before = await broker.publish('lag', { author: 'a', text: 'seen before' });
      readers.push(await openSse(`${node.url}/streams/lag/events`));
      const missed = [(await broker.publish('lag', { author: 'a', text: 'm1' })).id, (await broker.publish('lag', { author: 'a', text: 'm2' })).id];
      const resumed = await openSse(`${node.url}/streams/lag/events`, { 'Last-Event-ID': before.id });
      readers.push(resumed);
      await resumed.messages(2);
      const after = (await broker.publish('lag', { author: 'a', text: 'm3' })).id;
      await resumed.until((r) => r.events.some((event) => event.id === after), 3000, 'the next live message');
      assert.deepEqual(resumed.events.map((event) => event.id), [...missed, after]);
    } finally {
      for (const reader of readers) reader.close();
      await node.close();
    }
  });
});

/**
 * A memory broker whose Hub listeners the test can reach, to tell them of a gap (the memory broker
 * never loses messages; the broker Redis is reports one after an outage, see redis-faults tests),
 * and whose history reads after an id `holds` accepts wait until the test lets them go.
 */
function brokerWithGaps(holds: (afterId: string | null) => boolean) {
  const broker = new MemoryBroker({ historySize: 100, historyMaxAgeMs: 0, nodeId: 'n', region: 'r' });
  const listeners = new Map<string, StreamListener>();
  const subscribe = broker.subscribe.bind(broker);
  broker.subscribe = (stream, listener) => {
    listeners.set(stream, listener);
    return subscribe(stream, listener);
  };
  const history = broker.history.bind(broker);
  let letGo!: () => void;
  const gate = new Promise<void>((resolve) => (letGo = resolve));
  broker.history = async (stream, afterId, limit) => {
    if (holds(afterId)) await gate;
    return history(stream, afterId, limit);
  };
  return { broker, listeners, letGo };
}

describe('one node: a gap the broker reports', function () {
  it('tells only the viewers that missed it: not one whose history went past it, not one still reading its history that reaches past it', async () => {
    let held = '';
    const { broker, listeners, letGo } = brokerWithGaps((afterId) => afterId === held);
    const node = await startTestNode({}, { broker });
    const readers: SseReader[] = [];
    const kinds = (reader: SseReader) => reader.events.map((event) => event.event ?? event.id);
    try {
      const first = await broker.publish('gap', { author: 'a', text: 'first' });
      const live = await openSse(`${node.url}/streams/gap/events`);
      readers.push(live);
      const second = await broker.publish('gap', { author: 'a', text: 'second' });
      await live.messages(1);
      const resumed = await openSse(`${node.url}/streams/gap/events`, { 'Last-Event-ID': first.id });
      readers.push(resumed);
      await resumed.messages(1);
      held = first.id;
      const reading = await openSse(`${node.url}/streams/gap/events`, { 'Last-Event-ID': held });
      readers.push(reading);
      await waitUntil(() => node.hub.viewerCount === 3, 3000, 'three viewers');

      const resetsBefore = node.hub.stats.resets;
      listeners.get('gap')!.onGap({ afterId: first.id, lost: 'unknown', trimmedThrough: second.id });
      letGo();
      await reading.messages(1);
      const third = await broker.publish('gap', { author: 'a', text: 'third' });
      for (const reader of readers) await reader.until((r) => r.events.some((event) => event.id === third.id), 3000, 'the next message');

      // Live since before it: told, before what comes after the gap.
      assert.deepEqual(kinds(live), [second.id, 'reset', third.id]);
      // Resumed from history past the newest trimmed id: nothing missed, nothing said.
      assert.deepEqual(kinds(resumed), [second.id, third.id]);
      // Still reading its history when the gap came; the history reached past it.
      assert.deepEqual(kinds(reading), [second.id, third.id]);
      assert.equal(node.hub.stats.resets - resetsBefore, 1);
    } finally {
      for (const reader of readers) reader.close();
      await node.close();
    }
  });

  it('tells a viewer still reading its history where its live messages begin, when the history stops short of the gap', async () => {
    const { broker, listeners, letGo } = brokerWithGaps(() => true);
    const node = await startTestNode({}, { broker });
    const readers: SseReader[] = [];
    try {
      const first = await broker.publish('short', { author: 'a', text: 'first' });
      const second = await broker.publish('short', { author: 'a', text: 'second' });
      const reading = await openSse(`${node.url}/streams/short/events`, { 'Last-Event-ID': first.id });
      readers.push(reading);
      await waitUntil(() => node.hub.viewerCount === 1, 3000, 'the viewer');
      // Trimmed past anything this history holds: the viewer misses some of it.
      listeners.get('short')!.onGap({ afterId: second.id, lost: 'unknown', trimmedThrough: `${Number(second.id.split('-')[0]) + 1}-0` });
      letGo();
      await reading.messages(1);
      const third = await broker.publish('short', { author: 'a', text: 'third' });
      await reading.until((r) => r.events.some((event) => event.id === third.id), 3000, 'the next message');
      // The reset comes after the history, not in the middle of it.
      assert.deepEqual(reading.events.map((event) => event.event ?? event.id), [second.id, 'reset', third.id]);
    } finally {
      for (const reader of readers) reader.close();
      await node.close();
    }
  });
});

describe('one node: a replay that waits on its viewer', function () {
  it('cuts a viewer that stops reading during its replay, as any slow viewer, instead of holding what arrives meanwhile', async () => {
    const node = await startTestNode({ SLOW_CLIENT_BYTES: '65536' });
    const readers: SseReader[] = [];
    try {
      // ~16 MB of history: far more than the kernel buffers of a client that reads nothing
      // (loopback send buffers grow to 4 MB with Linux's defaults; a paused receiver's stay small).
      const text = 'x'.repeat(16_000);
      for (let index = 0; index < 1000; index++) await node.broker.publish('stall', { author: 'bot', text: `${index} ${text}` });
      const live = await openSse(`${node.url}/streams/stall/events`);
      readers.push(live);
      const stalled = await openSse(`${node.url}/streams/stall/events`, { 'Last-Event-ID': '0-0' });
      readers.push(stalled);
      stalled.pause();
      // Live messages while its replay waits for the socket: past 64 KiB of them it is cut.
      for (let index = 0; index < 40; index++) {
        await node.broker.publish('stall', { author: 'bot', text: `live ${index} ${'y'.repeat(4000)}` });
        await new Promise((resolve) => setImmediate(resolve));
      }
      await waitUntil(() => node.hub.viewerCount === 1, 10_000, 'the stalled viewer to be cut');
      assert.equal(node.hub.stats.slowViewersCut, 1);
      await live.messages(40, 10_000);
    } finally {
      for (const reader of readers) reader.close();
      await node.close();
    }
  });

  it('tells a viewer of messages trimmed while its replay was between two pages', async () => {
    // The second page is read only once the test has posted enough to trim past the first.
    const broker = new MemoryBroker({ historySize: 1500, historyMaxAgeMs: 0, nodeId: 'n', region: 'r' });
    const history = broker.history.bind(broker);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let reads = 0;
    let secondAsked!: () => void;
    const secondRead = new Promise<void>((resolve) => (secondAsked = resolve));
    broker.history = async (stream, afterId, limit) => {
      if (stream === 'paged' && ++reads === 2) {
        secondAsked();
        await gate;
      }
      return history(stream, afterId, limit);
    };
    const node = await startTestNode({}, { broker });
    try {
      const ids: string[] = [];
      for (let index = 0; index < 1500; index++) ids.push((await broker.publish('paged', { author: 'a', text: `m${index}` })).id);
      const reader = await openSse(`${node.url}/streams/paged/events`, { 'Last-Event-ID': '0-0' });
      try {
        await secondRead;
        for (let index = 1500; index < 3000; index++) ids.push((await broker.publish('paged', { author: 'a', text: `m${index}` })).id);
        open();
        await reader.until((r) => r.events.at(-1)?.id === ids.at(-1), 10_000, 'the last message');
        const messages = reader.events.filter((event) => !event.event).map((event) => event.id);
        const resets = reader.events.filter((event) => event.event === 'reset');
        assert.deepEqual(messages, [...ids.slice(0, 1000), ...ids.slice(1500)]);
        assert.equal(resets.length, 1);
        // The broker knows how many it trimmed in all, not how many of them this viewer had not seen.
        assert.deepEqual(JSON.parse(resets[0]!.data), { lost: 'unknown' });
        assert.equal(reader.events.indexOf(resets[0]!), 1000, 'between the first page and the rest');
      } finally {
        reader.close();
      }
    } finally {
      await node.close();
    }
  });
});

describe('one node: broker unavailable', function () {
  it('every route that reads or writes the broker answers 503 broker_unavailable, not 500', async () => {
    const broker = new MemoryBroker({ historySize: 10, historyMaxAgeMs: 0, nodeId: 'n', region: 'r' });
    const refuse = async () => {
      throw new BrokerUnavailableError();
    };
    broker.publish = refuse;
    broker.publishNow = () => {
      throw new BrokerUnavailableError();
    };
    broker.history = refuse;
    broker.recent = refuse;
    const node = await startTestNode({}, { broker });
    try {
      const expect503 = (response: request.Response, what: string) => {
        assert.equal(response.status, 503, `${what}: ${response.status} ${response.text.slice(0, 200)}`);
        assert.equal(response.body.error.code, 'broker_unavailable', what);
      };
      expect503(await request(node.url).post('/streams/s/messages').send({ author: 'a', text: 'b' }), 'JSON post');
      expect503(await request(node.url).get('/streams/s/messages'), 'history');
      expect503(await request(node.url).get('/streams/s'), 'page');
      expect503(await request(node.url).get('/streams/s?lastEventId=1-0'), 'page resumed');
      // The event stream is open before its history is read: it ends, and the client comes back.
      const resumed = await readBody(`${node.url}/streams/s/events`, { 'Last-Event-ID': '1-0' });
      assert.equal(resumed.status, 200);
      assert.ok(!resumed.body.includes('id:'), 'nothing delivered from a history it could not read');
      const form = await request(node.url).post('/streams/s/messages').type('form').set('HX-Request', 'true').send('author=a&text=kept');
      assert.equal(form.status, 503);
      assert.match(form.text, /unavailable/);
      assert.match(form.text, />kept<\/textarea>/);
    } finally {
      await node.close();
    }
  });
});

describe('one node: hub subscriptions', function () {
  it('holds one broker subscription per stream however many viewers, in both formats', async () => {
    const broker = new MemoryBroker({ historySize: 100, historyMaxAgeMs: 0, nodeId: 'n', region: 'r' });
    // Count what the Hub asks of a real broker: subscriptions, and deliveries per subscription.
    let subscribes = 0;
    const subscribe = broker.subscribe.bind(broker);
    broker.subscribe = (stream, listener) => {
      subscribes += 1;
      return subscribe(stream, listener);
    };
    const node = await startTestNode({}, { broker });
    try {
      const viewers = await Promise.all(
        ['json', 'json', 'html', 'html', 'json'].map((format) => openSse(`${node.url}/streams/shared/events?format=${format}`)),
      );
      await post(node, 'shared', 'ada', 'one for all');
      const frames = await Promise.all(viewers.map(async (viewer) => (await viewer.messages(1))[0]!.data));
      assert.equal(subscribes, 1);
      assert.equal(new Set(frames).size, 2, 'the json viewers got identical frames, and so did the html ones');
      for (const viewer of viewers) viewer.close();
    } finally {
      await node.close();
    }
  });
});

describe('one node: slow viewers', function () {
  let node: RunningNode;
  after(() => node?.close());

  it('cuts a viewer that stops reading while a fast one receives everything', async () => {
    node = await startTestNode({ SLOW_CLIENT_BYTES: '65536', HISTORY_SIZE: '10000' });
    const fast = await openSse(`${node.url}/streams/flood/events`);
    const slow = await openSse(`${node.url}/streams/flood/events`);
    // The slow viewer stops reading: the kernel buffers fill, then the node's queue.
    slow.pause();
    const text = 'x'.repeat(1900);
    const count = 3000;
    for (let index = 0; index < count; index++) {
      await node.broker.publish('flood', { author: 'bot', text: `${index} ${text}` });
      // Messages arrive over time, as they would from posters; the fast viewer keeps up.
      await new Promise((resolve) => setImmediate(resolve));
    }
    // A paused client cannot see its own socket end; the node's count of viewers can.
    await waitUntil(() => node.hub.viewerCount === 1, 10_000, 'the slow viewer to be cut');
    const events = await fast.messages(count, 20_000);
    assert.equal(events.length, count);
    assert.equal(JSON.parse(events.at(-1)!.data).text.split(' ')[0], String(count - 1));
    assert.ok(!fast.isEnded());
    fast.close();
    slow.close();
  });
});

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am! - bm! || as! - bs!;
}
