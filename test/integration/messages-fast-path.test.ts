// The raw POST fast path against Express: the same answers byte for byte (apart from ids, times
// and Date), pipelined requests answered in order, a connection that moves from the fast path to
// Express mid-way, one rate limit across both paths, and nothing accepted lost.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { BrokerUnavailableError } from '../../server/broker/broker.js';
import { MemoryBroker } from '../../server/broker/memory.js';
import type { RunningNode } from '../../server/node.js';
import { brokerThatCannotSubscribe, spawnNode, startTestNode } from '../helpers/node.js';
import { jsonPost, openRaw, rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { openSse } from '../helpers/sse-reader.js';
import { waitUntil } from '../helpers/wait.js';

/** Status, headers in order (Date dropped) and body, with ids and times made comparable. */
function comparable(response: RawResponse): string {
  const normalise = (text: string) => text.replace(/\d{13}-\d+/g, 'ID').replace(/"ts":\d+/g, '"ts":TS');
  const headers = response.headers.filter(([name]) => name !== 'date').map(([name, value]) => `${name}: ${normalise(value)}`);
  return [String(response.status), ...headers, '', normalise(response.body)].join('\n');
}

/**
 * Sends `bytes` on a fresh connection: the responses, and whether the server then closed it. With
 * `first`, a plain post goes first and is answered: a node with the native post lane then reads
 * the rest of the connection in C (http/post-lane.ts).
 */
async function exchange(url: string, bytes: string | Buffer, count = 1, first?: string): Promise<{ responses: RawResponse[]; closed: boolean }> {
  const connection = await openRaw(url);
  try {
    if (first) {
      connection.send(first);
      assert.equal((await connection.responses(1))[0]!.status, 201);
    }
    connection.send(bytes);
    const responses = await connection.responses(count);
    const closed = await Promise.race([connection.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 150))]);
    return { responses, closed };
  } finally {
    connection.close();
  }
}

/** The in-process broker made to behave as a remote one: no publishNow, so the fast path waits on publish. */
function withoutPublishNow(broker: MemoryBroker): MemoryBroker {
  Object.defineProperty(broker, 'publishNow', { value: undefined });
  return broker;
}

const chunked = (stream: string, body: string) =>
  `POST /streams/${stream}/messages HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;

const CASES: [string, string | Buffer][] = [
  ['a valid post', jsonPost('lobby', '{"author":"ada","text":"hello"}')],
  ['charset=utf-8', jsonPost('lobby', '{"author":"ada","text":"hello"}', { 'Content-Type': 'application/json; charset=utf-8' })],
  ['charset=UTF-8', jsonPost('lobby', '{"author":"ada","text":"hello"}', { 'Content-Type': 'application/json;charset=UTF-8' })],
  ['whitespace, CRLF and NUL normalised', jsonPost('lobby', JSON.stringify({ author: '  ada \t lovelace ', text: ' a\r\nb\rc\0d ' }))],
  ['unicode and extra fields', jsonPost('a.b-c_9', JSON.stringify({ author: 'Zoë', text: 'héllo ✓ 🎉', extra: 1 }))],
  ['limits reached exactly', jsonPost('lobby', JSON.stringify({ author: 'a'.repeat(50), text: 'x'.repeat(2000) }))],
  ['leading whitespace before the object', jsonPost('lobby', ' \n{"author":"a","text":"b"}')],
  ['Connection: close', jsonPost('lobby', '{"author":"a","text":"b"}', { Connection: 'close' })],
  ['HTTP/1.0', rawRequest('POST', '/streams/lobby/messages', { 'Content-Type': 'application/json' }, '{"author":"a","text":"b"}', '1.0')],
  ['malformed JSON', jsonPost('lobby', '{"author":')],
  ['a JSON string', jsonPost('lobby', '"just a string"')],
  ['a JSON array', jsonPost('lobby', '[1,2]')],
  ['null', jsonPost('lobby', 'null')],
  ['an empty body', jsonPost('lobby', '')],
  ['a byte-order mark', jsonPost('lobby', '\ufeff{"author":"a","text":"b"}')],
  ['missing text', jsonPost('lobby', '{"author":"a"}')],
  ['an empty object', jsonPost('lobby', '{}')],
  ['a number as author', jsonPost('lobby', '{"author":1,"text":"x"}')],
  ['author blank after trimming', jsonPost('lobby', '{"author":"   ","text":"x"}')],
  ['author too long', jsonPost('lobby', JSON.stringify({ author: 'a'.repeat(51), text: 'x' }))],
  ['text too long', jsonPost('lobby', JSON.stringify({ author: 'a', text: 'x'.repeat(2001) }))],
  ['a body over MAX_BODY_BYTES', jsonPost('lobby', JSON.stringify({ author: 'a', text: 'x'.repeat(17 * 1024) }))],
  ['a bad stream name', jsonPost('-dash', '{"author":"a","text":"b"}')],
  ['an encoded bad stream name', jsonPost('has%20space', '{"author":"a","text":"b"}')],
  ['text/plain', jsonPost('lobby', '{"author":"a","text":"b"}', { 'Content-Type': 'text/plain' })],
  ['another charset', jsonPost('lobby', '{"author":"a","text":"b"}', { 'Content-Type': 'application/json; charset=latin1' })],
  ['a chunked body', chunked('lobby', '{"author":"a","text":"chunked"}')],
  ['a form post', rawRequest('POST', '/streams/lobby/messages', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'author=a&text=b')],
  ['an htmx form post', rawRequest('POST', '/streams/lobby/messages', { 'Content-Type': 'application/x-www-form-urlencoded', 'HX-Request': 'true' }, 'author=a&text=b')],
  // Routes match the path as sent and decode only the stream's name, as Express does.
  ['an encoded slash standing for the path\'s own', rawRequest('POST', '/streams/enc%2Fmessages', { 'Content-Type': 'application/json' }, '{"author":"a","text":"b"}')],
  ['an encoded letter in the stream name', jsonPost('%6Cobby', '{"author":"a","text":"b"}')],
  ['a path that is not valid percent-encoding', jsonPost('%E0%A4%A', '{"author":"a","text":"b"}')],
  ['Connection: close followed by a tab', jsonPost('lobby', '{"author":"a","text":"b"}', { Connection: 'close\t' })],
  // Byte 0xA0, a no-break space in latin1: JavaScript's \s takes it for white space, HTTP does not.
  ['a content type ending in byte 0xA0', Buffer.from(jsonPost('lobby', '{"author":"a","text":"b"}', { 'Content-Type': 'application/json\u00a0' }), 'latin1')],
  ['a gzip body that does not inflate', jsonPost('lobby', 'not gzip at all', { 'Content-Encoding': 'gzip' })],
  [
    'more headers than Node keeps, Content-Type past them',
    rawRequest('POST', '/streams/lobby/messages', { ...Object.fromEntries(Array.from({ length: 998 }, (_, index) => [`X-Filler-${index}`, ''])), 'Content-Type': 'application/json' }, '{"author":"a","text":"b"}'),
  ],
];

/** An event stream's response head: on a fresh connection (the fast path), or behind a request
 * Express serves first on the same connection (the HTTP server's). */
async function eventStreamHead(url: string, path: string, via: 'fast' | 'express'): Promise<{ response: RawResponse; closed: boolean }> {
  const bytes = rawRequest('GET', path, { Accept: 'text/event-stream' });
  if (via === 'fast') {
    const { responses, closed } = await exchange(url, bytes);
    return { response: responses[0]!, closed };
  }
  const { responses, closed } = await exchange(url, rawRequest('GET', '/healthz') + bytes, 2);
  assert.equal(responses[0]!.status, 200);
  return { response: responses[1]!, closed };
}

describe('one node: the raw POST fast path', function () {
  let fast: RunningNode;
  let express: RunningNode;
  before(async () => {
    fast = await startTestNode();
    // Behind a proxy the node leaves every post to Express: the reference answers.
    express = await startTestNode({ TRUST_PROXY_HOPS: '1' });
  });
  after(async () => {
    await fast.close();
    await express.close();
  });

  for (const [name, bytes] of CASES) {
    it(`answers as Express does: ${name}`, async () => {
      const viaFast = await exchange(fast.url, bytes);
      const viaExpress = await exchange(express.url, bytes);
      assert.equal(comparable(viaFast.responses[0]!), comparable(viaExpress.responses[0]!));
      assert.equal(viaFast.closed, viaExpress.closed, 'closes the connection alike');
    });
  }

  // The same requests as the second on a kept-alive connection, which the native post lane reads
  // where it is built: what it takes and what it hands back to Node alike.
  for (const [name, bytes] of CASES) {
    it(`answers as Express does after a first post on the connection: ${name}`, async () => {
      const first = jsonPost('first', '{"author":"a","text":"first"}');
      const viaLane = await exchange(fast.url, bytes, 1, first);
      const viaExpress = await exchange(express.url, bytes, 1, first);
      assert.equal(comparable(viaLane.responses[0]!), comparable(viaExpress.responses[0]!));
      assert.equal(viaLane.closed, viaExpress.closed, 'closes the connection alike');
    });
  }

  it('reads the posts after the first on a kept-alive connection in C, where the post lane is built', async function () {
    if (process.platform !== 'linux') this.skip();
    // A node of its own, as a server runs: in this process the test's own reads share its loop.
    const node = await spawnNode();
    after(() => node.stop());
    const lanePosts = async () => Number(/^sse_chat_post_lane_posts_total\{[^}]*\} (\d+)$/m.exec(await (await fetch(`${node.url}/metrics`)).text())?.[1]);
    assert.match(node.output(), /"msg":"post lane"/);
    const before = await lanePosts();
    const viewers = await Promise.all(Array.from({ length: 5 }, () => openSse(`${node.url}/streams/lane/events`)));
    const connection = await openRaw(node.url);
    try {
      for (let index = 0; index < 100; index++) {
        connection.send(jsonPost('lane', JSON.stringify({ author: 'a', text: `post ${index}` })));
        assert.equal((await connection.responses(1))[0]!.status, 201);
        await Promise.all(viewers.map((viewer) => viewer.messages(index + 1)));
      }
    } finally {
      connection.close();
      for (const viewer of viewers) viewer.close();
    }
    // Every one but the first: Node reads none of them meanwhile.
    assert.equal((await lanePosts()) - before, 99);
  });

  for (const env of [{ POST_LANE: 'off' }, { TRUST_PROXY_HOPS: '1' }] as Record<string, string>[]) {
    it(`leaves every post to Node with ${JSON.stringify(env)}`, async () => {
      const node = await startTestNode(env);
      try {
        const connection = await openRaw(node.url);
        try {
          for (const text of ['one', 'two', 'three']) {
            connection.send(jsonPost('no-lane', JSON.stringify({ author: 'a', text })));
            assert.equal((await connection.responses(1))[0]!.status, 201);
          }
        } finally {
          connection.close();
        }
        const metrics = await (await fetch(`${node.url}/metrics`)).text();
        assert.match(metrics, /^sse_chat_post_lane_posts_total\{[^}]*\} 0$/m);
      } finally {
        await node.close();
      }
    });
  }

  it('closes with a FIN, not a reset, after a closing post the post lane read, bytes sent after it or not', async () => {
    const connection = await openRaw(fast.url);
    let reset: Error | null = null;
    connection.socket.on('error', (error) => (reset = error));
    try {
      connection.send(jsonPost('lane-close', '{"author":"a","text":"first"}'));
      assert.equal((await connection.responses(1))[0]!.status, 201);
      connection.send(jsonPost('lane-close', '{"author":"a","text":"last"}', { Connection: 'close' }) + 'and bytes nobody reads'.repeat(100));
      const [last] = await connection.responses(1);
      assert.equal(last!.status, 201);
      assert.equal(last!.header('connection'), 'close');
      await connection.closed;
      assert.equal(reset, null);
    } finally {
      connection.close();
    }
  });

  it('goes on serving when a client resets a connection the post lane reads', async () => {
    const connection = await openRaw(fast.url);
    connection.send(jsonPost('reset', '{"author":"a","text":"before"}'));
    assert.equal((await connection.responses(1))[0]!.status, 201);
    connection.socket.resetAndDestroy();
    const after = await exchange(fast.url, jsonPost('reset', '{"author":"a","text":"after"}'), 1, jsonPost('reset', '{"author":"a","text":"first"}'));
    assert.equal(after.responses[0]!.status, 201);
    const history = (await (await fetch(`${fast.url}/streams/reset/messages`)).json()) as { messages: { text: string }[] };
    assert.deepEqual(history.messages.map((message) => message.text), ['before', 'first', 'after']);
  });

  it('leaves an HTTP/1.1 request without Host to the HTTP server, which answers 400 in the API format and closes: a post and an event stream alike', async () => {
    for (const url of [fast.url, express.url]) {
      for (const bytes of [
        'POST /streams/no-host/messages HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 25\r\n\r\n{"author":"a","text":"b"}',
        'GET /streams/no-host/events HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n',
        // On a connection the HTTP server already serves.
        `${rawRequest('GET', '/healthz')}GET /streams/no-host/messages HTTP/1.1\r\n\r\n`,
      ]) {
        const { responses, closed } = await exchange(url, bytes, bytes.startsWith('GET /healthz') ? 2 : 1);
        const refused = responses.at(-1)!;
        assert.equal(refused.status, 400, bytes.split('\r\n')[0]);
        assert.deepEqual(JSON.parse(refused.body).error.code, 'bad_request');
        assert.match(JSON.parse(refused.body).error.message, /Host/);
        assert.equal(closed, true);
      }
    }
    const history = await exchange(fast.url, rawRequest('GET', '/streams/no-host/messages'));
    assert.equal(history.responses[0]!.status, 200);
    assert.deepEqual(JSON.parse(history.responses[0]!.body).messages, [], 'the rejected post was not stored');
  });

  it('answers an Expect other than 100-continue with 417 in the API format, and closes', async () => {
    for (const url of [fast.url, express.url]) {
      const { responses, closed } = await exchange(url, jsonPost('expect', '{"author":"a","text":"b"}', { Expect: 'the-impossible' }));
      assert.equal(responses[0]!.status, 417);
      assert.equal(JSON.parse(responses[0]!.body).error.code, 'expectation_failed');
      assert.equal(closed, true);
    }
    const history = await exchange(fast.url, rawRequest('GET', '/streams/expect/messages'));
    assert.deepEqual(JSON.parse(history.responses[0]!.body).messages, [], 'nothing was stored');
  });

  for (const [kind, failing] of [
    ['a remote broker rejects', 'publish'],
    ['an in-process broker throws', 'publishNow'],
  ] as const) {
    it(`answers as Express does when the broker is down (503): ${kind}`, async () => {
      // Which of the broker's calls each node's post made: the fast path alone calls publishNow.
      const calls = { fast: [] as string[], express: [] as string[] };
      const downBroker = (log: string[]) => {
        const broker = new MemoryBroker({ historySize: 10, historyMaxAgeMs: 0, nodeId: 'n', region: 'r' });
        broker.publish = async () => {
          log.push('publish');
          throw new BrokerUnavailableError();
        };
        if (failing === 'publish') return withoutPublishNow(broker);
        broker.publishNow = () => {
          log.push('publishNow');
          throw new BrokerUnavailableError();
        };
        return broker;
      };
      const downFast = await startTestNode({}, { broker: downBroker(calls.fast) });
      const downExpress = await startTestNode({ TRUST_PROXY_HOPS: '1' }, { broker: downBroker(calls.express) });
      try {
        const bytes = jsonPost('lobby', '{"author":"a","text":"b"}');
        const [viaFast] = (await exchange(downFast.url, bytes)).responses;
        const [viaExpress] = (await exchange(downExpress.url, bytes)).responses;
        assert.equal(viaFast!.status, 503);
        assert.equal(comparable(viaFast!), comparable(viaExpress!));
        // One attempt each, and on the in-process broker the fast path's own (Express has no publishNow).
        assert.deepEqual(calls, { fast: [failing], express: ['publish'] });
      } finally {
        await downFast.close();
        await downExpress.close();
      }
    });
  }

  for (const firstPost of [false, true]) {
  it(`answers pipelined posts in order, then hands the connection to Express mid-way, losing nothing${firstPost ? ', behind a first post (the post lane reads them)' : ''}`, async () => {
    const connection = await openRaw(fast.url);
    const stream = firstPost ? 'pipe-lane' : 'pipe';
    try {
      if (firstPost) {
        connection.send(jsonPost(stream, '{"author":"p","text":"first"}'));
        assert.equal((await connection.responses(1))[0]!.status, 201);
      }
      const texts = Array.from({ length: 50 }, (_, index) => `m${index}`);
      connection.send(
        texts.map((text) => jsonPost(stream, JSON.stringify({ author: 'p', text }))).join('') +
          rawRequest('GET', '/healthz') +
          rawRequest('POST', `/streams/${stream}/messages`, { 'Content-Type': 'application/x-www-form-urlencoded' }, 'author=p&text=form') +
          jsonPost(stream, '{"author":"p","text":"after"}'),
      );
      const responses = await connection.responses(53);
      const posted = responses.slice(0, 50).map((response) => JSON.parse(response.body) as { id: string; text: string });
      assert.deepEqual(responses.slice(0, 50).map((response) => response.status), texts.map(() => 201));
      assert.deepEqual(posted.map((message) => message.text), texts, 'responses in request order');
      assert.equal(responses[50]!.status, 200);
      assert.equal(JSON.parse(responses[50]!.body).status, 'ok');
      assert.equal(responses[51]!.status, 303);
      assert.equal(responses[52]!.status, 201);
      const history = await (await fetch(`${fast.url}/streams/${stream}/messages?limit=100`)).json() as { messages: { id: string; text: string }[] };
      const stored = history.messages.slice(firstPost ? 1 : 0);
      assert.deepEqual(stored.map((message) => message.text), [...texts, 'form', 'after'], 'every accepted post stored, in order');
      assert.deepEqual(stored.slice(0, 50).map((message) => message.id), posted.map((message) => message.id));
    } finally {
      connection.close();
    }
  });
  }

  it('keeps a connection alive across posts sent one at a time, then opens an event stream on it', async () => {
    const connection = await openRaw(fast.url);
    try {
      for (const text of ['one', 'two']) {
        connection.send(jsonPost('alive', JSON.stringify({ author: 'a', text })));
        const [response] = await connection.responses(1);
        assert.equal(response!.status, 201);
        assert.equal(response!.header('connection'), 'keep-alive');
      }
      connection.send(rawRequest('GET', '/streams/alive/events', { 'Last-Event-ID': '0-0' }));
      const [head] = await connection.responses(1);
      assert.equal(head!.status, 200);
      assert.match(head!.header('content-type')!, /^text\/event-stream/);
    } finally {
      connection.close();
    }
  });

  for (const [path, env] of [
    ['the fast path', {}],
    ['Express', { TRUST_PROXY_HOPS: '1' }],
  ] as const) {
    it(`keeps a connection open while posts keep coming, closing it once idle for KEEP_ALIVE_TIMEOUT_MS: ${path}`, async () => {
      const node = await startTestNode({ ...env, KEEP_ALIVE_TIMEOUT_MS: '1000' });
      const connection = await openRaw(node.url);
      let closedAt = 0;
      void connection.closed.then(() => (closedAt = Date.now()));
      try {
        // Posts 600 ms apart for 2.4 s: each answer restarts the idle clock.
        for (let index = 0; index < 5; index++) {
          if (index > 0) await new Promise((resolve) => setTimeout(resolve, 600));
          connection.send(jsonPost('idle-clock', JSON.stringify({ author: 'a', text: `m${index}` })));
          const [response] = await connection.responses(1);
          assert.equal(response!.status, 201, `post ${index}`);
          assert.equal(response!.header('keep-alive'), 'timeout=1');
          assert.equal(closedAt, 0, `closed before post ${index + 1}`);
        }
        const lastAnswerAt = Date.now();
        await connection.closed;
        const idleMs = closedAt - lastAnswerAt;
        assert.ok(idleMs >= 900 && idleMs < 3000, `closed after ${idleMs} ms idle`);
      } finally {
        connection.close();
        await node.close();
      }
    });
  }

  it('hands the connection to Express only after the posts owed before it are answered, slow broker or not', async () => {
    const broker = new MemoryBroker({ historySize: 100, historyMaxAgeMs: 0, nodeId: 'n', region: 'r' });
    const publish = broker.publish.bind(broker);
    let delayMs = 80;
    // Each publish slower than the one after it: answers become ready in reverse order.
    broker.publish = async (stream, input) => {
      const message = await publish(stream, input);
      await new Promise((resolve) => setTimeout(resolve, (delayMs -= 20)));
      return message;
    };
    const slow = await startTestNode({}, { broker: withoutPublishNow(broker) });
    const connection = await openRaw(slow.url);
    try {
      connection.send(
        jsonPost('slow', '{"author":"a","text":"one"}') +
          jsonPost('slow', '{"author":"a","text":"two"}') +
          jsonPost('slow', '{"author":"a","text":"three"}') +
          rawRequest('GET', '/healthz') +
          jsonPost('slow', '{"author":"a","text":"four"}'),
      );
      const responses = await connection.responses(5);
      assert.deepEqual(responses.map((response) => response.status), [201, 201, 201, 200, 201]);
      assert.deepEqual([0, 1, 2, 4].map((index) => JSON.parse(responses[index]!.body).text), ['one', 'two', 'three', 'four']);
    } finally {
      connection.close();
      await slow.close();
    }
  });

  it('reads a head and a body that arrive in pieces, also behind a pipelined post', async () => {
    const connection = await openRaw(fast.url);
    try {
      const first = jsonPost('pieces', '{"author":"a","text":"one"}');
      const second = jsonPost('pieces', '{"author":"a","text":"two"}');
      const pause = () => new Promise((resolve) => setTimeout(resolve, 30));
      // The first request whole plus half of the second's head, then the rest byte by byte in
      // three writes: mid-head, end of head, the body.
      const cut = second.indexOf('\r\n') + 5;
      const bodyStart = second.indexOf('\r\n\r\n') + 4;
      connection.send(first + second.slice(0, cut));
      await pause();
      connection.send(second.slice(cut, bodyStart));
      await pause();
      connection.send(second.slice(bodyStart, bodyStart + 5));
      await pause();
      connection.send(second.slice(bodyStart + 5));
      const responses = await connection.responses(2);
      assert.deepEqual(responses.map((response) => [response.status, JSON.parse(response.body).text]), [[201, 'one'], [201, 'two']]);
    } finally {
      connection.close();
    }
  });

  it('reads a post that arrives in pieces on a connection the post lane reads, and the posts after it', async () => {
    const connection = await openRaw(fast.url);
    try {
      const post = (text: string) => jsonPost('lane-pieces', JSON.stringify({ author: 'a', text }));
      connection.send(post('one'));
      assert.equal((await connection.responses(1))[0]!.status, 201);
      // Half a head: the lane hands it back and Node reads on; the rest, then more posts whole.
      const second = post('two');
      connection.send(second.slice(0, 20));
      await new Promise((resolve) => setTimeout(resolve, 30));
      connection.send(second.slice(20));
      assert.equal(JSON.parse((await connection.responses(1))[0]!.body).text, 'two');
      connection.send(post('three'));
      assert.equal(JSON.parse((await connection.responses(1))[0]!.body).text, 'three');
      connection.send(post('four') + post('five').slice(0, 30));
      await new Promise((resolve) => setTimeout(resolve, 30));
      connection.send(post('five').slice(30));
      const responses = await connection.responses(2);
      assert.deepEqual(responses.map((response) => JSON.parse(response.body).text), ['four', 'five']);
    } finally {
      connection.close();
    }
  });

  it('closes after a post that asks for it and reads nothing after it', async () => {
    const connection = await openRaw(fast.url);
    try {
      connection.send(jsonPost('closing', '{"author":"a","text":"last"}', { Connection: 'close' }) + jsonPost('closing', '{"author":"a","text":"ignored"}'));
      const [response] = await connection.responses(1);
      assert.equal(response!.header('connection'), 'close');
      await connection.closed;
      const history = await (await fetch(`${fast.url}/streams/closing/messages`)).json() as { messages: { text: string }[] };
      assert.deepEqual(history.messages.map((message) => message.text), ['last']);
    } finally {
      connection.close();
    }
  });

  it('counts posts on both paths against one rate limit per client', async () => {
    const limited = await startTestNode({ RATE_LIMIT_POSTS: '3', RATE_LIMIT_WINDOW_MS: '60000' });
    try {
      const form = rawRequest('POST', '/streams/rl/messages', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'author=a&text=form');
      const json = jsonPost('rl', '{"author":"a","text":"json"}');
      // Express first (the form post), then the fast path on a fresh connection.
      const first = await exchange(limited.url, form);
      assert.equal(first.responses[0]!.status, 303);
      assert.match(first.responses[0]!.header('ratelimit')!, /r=2;/);
      const [second, third, fourth] = (await exchange(limited.url, json + json + json, 3)).responses;
      assert.deepEqual([second!.status, third!.status, fourth!.status], [201, 201, 429]);
      assert.match(second!.header('ratelimit')!, /r=1;/);
      assert.match(third!.header('ratelimit')!, /r=0;/);
      assert.equal(JSON.parse(fourth!.body).error.code, 'rate_limited');
      assert.ok(fourth!.header('retry-after'));
      const [again] = (await exchange(limited.url, form)).responses;
      assert.equal(again!.status, 429);
      const history = await (await fetch(`${limited.url}/streams/rl/messages`)).json() as { messages: { text: string }[] };
      assert.deepEqual(history.messages.map((message) => message.text), ['form', 'json', 'json']);
    } finally {
      await limited.close();
    }
  });

  it('counts the posts the post lane reads against the same rate limit, and a post over it gets the 429 Express renders', async () => {
    const env = { RATE_LIMIT_POSTS: '3', RATE_LIMIT_WINDOW_MS: '60000' };
    const limited = await startTestNode(env);
    const reference = await startTestNode({ ...env, TRUST_PROXY_HOPS: '1' });
    try {
      const answers = async (url: string) => {
        const connection = await openRaw(url);
        try {
          const statuses: RawResponse[] = [];
          // One at a time: from the second on, the lane reads them (on the node that has it).
          for (const text of ['one', 'two', 'three', 'four', 'five']) {
            connection.send(jsonPost('rl-lane', JSON.stringify({ author: 'a', text })));
            statuses.push((await connection.responses(1))[0]!);
          }
          return statuses;
        } finally {
          connection.close();
        }
      };
      const viaLane = await answers(limited.url);
      const viaExpress = await answers(reference.url);
      assert.deepEqual(viaLane.map((response) => response.status), [201, 201, 201, 429, 429]);
      assert.deepEqual(viaLane.map((response) => response.header('ratelimit')?.replace(/t=\d+/, 't=T')), viaExpress.map((response) => response.header('ratelimit')?.replace(/t=\d+/, 't=T')));
      assert.equal(comparable(viaLane[3]!).replace(/\d+$/m, 'N'), comparable(viaExpress[3]!).replace(/\d+$/m, 'N'));
      const history = (await (await fetch(`${limited.url}/streams/rl-lane/messages`)).json()) as { messages: { text: string }[] };
      assert.deepEqual(history.messages.map((message) => message.text), ['one', 'two', 'three']);
    } finally {
      await limited.close();
      await reference.close();
    }
  });

  it('closes an idle kept-alive connection at shutdown without waiting for its keep-alive timeout', async () => {
    const stopping = await startTestNode({ SHUTDOWN_TIMEOUT_MS: '8000' });
    const connection = await openRaw(stopping.url);
    try {
      connection.send(jsonPost('bye', '{"author":"a","text":"b"}'));
      assert.equal((await connection.responses(1))[0]!.status, 201);
      const startedAt = Date.now();
      await stopping.close();
      assert.ok(Date.now() - startedAt < 2000, `closed in ${Date.now() - startedAt} ms`);
      await connection.closed;
    } finally {
      connection.close();
    }
  });

  it('opens an event stream with the head Express sends, Date included', async () => {
    const viaFast = await eventStreamHead(fast.url, '/streams/heads/events', 'fast');
    const viaExpress = await eventStreamHead(fast.url, '/streams/heads/events', 'express');
    assert.equal(viaFast.response.status, 200);
    assert.deepEqual(viaFast.response.headers.map(([name]) => name), viaExpress.response.headers.map(([name]) => name));
    assert.equal(comparable(viaFast.response), comparable(viaExpress.response));
    assert.ok(!Number.isNaN(Date.parse(viaFast.response.header('date') ?? '')), 'a Date the client can read');
  });

  it('answers an event stream that cannot open (503) as Express does, and closes the connection on both paths', async () => {
    const down = await startTestNode({}, { broker: brokerThatCannotSubscribe() });
    try {
      const viaFast = await eventStreamHead(down.url, '/streams/down/events', 'fast');
      const viaExpress = await eventStreamHead(down.url, '/streams/down/events', 'express');
      assert.equal(viaFast.response.status, 503);
      assert.equal(comparable(viaFast.response), comparable(viaExpress.response));
      assert.deepEqual([viaFast.closed, viaExpress.closed], [true, true]);
    } finally {
      await down.close();
    }
  });

  it('answers a path that is not valid percent-encoding with a JSON 400, on every route', async () => {
    for (const path of ['/streams/%ZZ/events', '/streams/%ff', '/streams/%E0%A4%A/messages', '/streams/%E0%A4%A/messages?after=0-0']) {
      const [response] = (await exchange(fast.url, rawRequest('GET', path))).responses;
      assert.equal(response!.status, 400, path);
      assert.equal(JSON.parse(response!.body).error.code, 'invalid_path', path);
    }
  });

  it('answers at once, with a JSON error, what Node cannot parse, and closes', async () => {
    for (const [bytes, status, code] of [
      ['GET /healthz HTTP/1.1\nHost: t\n\n', 400, 'bad_request'],
      ['GET /streams/lf/events HTTP/1.1\r\nHost: t\n\n', 400, 'bad_request'],
      ['HELLO\r\n', 400, 'bad_request'],
      [`GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ${'x'.repeat(17 * 1024)}\r\n\r\n`, 431, 'headers_too_large'],
    ] as const) {
      // Within the client's 5 s, not the head deadline's 20 s.
      const { responses, closed } = await exchange(fast.url, bytes);
      assert.equal(responses[0]!.status, status, JSON.stringify(bytes.slice(0, 40)));
      assert.equal(JSON.parse(responses[0]!.body).error.code, code);
      assert.equal(closed, true);
    }
  });

  it('closes its side after an error answer or a closing post, even when the client never closes its own', async () => {
    // Ending alone waited for the client's FIN with no deadline: a socket and a descriptor each.
    const node = await startTestNode();
    const clients: Socket[] = [];
    try {
      const requests = ['GET /healthz HTTP/1.1\nHost: t\n\n', 'HELLO\r\n', jsonPost('half', '{"author":"a","text":"b"}', { Connection: 'close' })];
      for (const bytes of requests) {
        const client = connect({ port: Number(new URL(node.url).port), host: '127.0.0.1', allowHalfOpen: true });
        client.on('error', () => {});
        client.resume();
        clients.push(client);
        await new Promise<void>((resolve) => client.once('connect', () => resolve()));
        client.write(bytes);
        await new Promise<void>((resolve) => client.once('end', () => resolve()));
      }
      const open = () => new Promise<number>((resolve, reject) => node.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
      await waitUntil(async () => (await open()) === 0, 5000, 'the node to close all three connections');
    } finally {
      for (const client of clients) client.destroy();
      await node.close();
    }
  });
});
