// Every kind of bad input gets a clear 4xx, JSON `{"error":{"code","message"}}` on the API and
// the error inside the form on the page; never a 5xx, never a crash, nothing accepted lost.
import assert from 'node:assert/strict';
import request from 'supertest';
import type { RunningNode } from '../../server/node.js';
import { startTestNode } from '../helpers/node.js';
import { openRaw, rawRequest } from '../helpers/raw-http.js';
import { readBody } from '../helpers/sse-reader.js';

function assertApiError(response: request.Response, status: number, code: string): void {
  assert.equal(response.status, status, `${response.status} ${response.text}`);
  assert.match(String(response.headers['content-type']), /application\/json/);
  assert.equal(response.body.error.code, code);
  assert.equal(typeof response.body.error.message, 'string');
  assert.ok(response.body.error.message.length > 0);
}

describe('one node: bad input', function () {
  let node: RunningNode;
  before(async () => {
    node = await startTestNode({ RATE_LIMIT_POSTS: '0' });
  });
  after(() => node.close());

  const postJson = (stream: string, body: string, type = 'application/json') =>
    request(node.url).post(`/streams/${stream}/messages`).set('content-type', type).send(body);

  for (const name of ['-leading-dash', 'has space', 'x'.repeat(65), 'semi;colon', '%00', 'ünicode', '.dot']) {
    it(`rejects the stream name ${JSON.stringify(name.slice(0, 20))} on every route`, async () => {
      const path = `/streams/${encodeURIComponent(name)}`;
      assertApiError(await request(node.url).get(`${path}/events`), 400, 'invalid_stream_name');
      assertApiError(await request(node.url).get(`${path}/messages`), 400, 'invalid_stream_name');
      assertApiError(await postJson(encodeURIComponent(name), '{"author":"a","text":"b"}'), 400, 'invalid_stream_name');
      assertApiError(await request(node.url).get(path), 400, 'invalid_stream_name');
    });
  }

  it('accepts names at the limits', async () => {
    await postJson('a', '{"author":"a","text":"b"}').expect(201);
    await postJson(`A9_.-${'z'.repeat(59)}`, '{"author":"a","text":"b"}').expect(201);
  });

  it('rejects malformed JSON, non-object JSON and wrong field types', async () => {
    assertApiError(await postJson('s', '{"author":'), 400, 'invalid_json');
    assertApiError(await postJson('s', '"just a string"'), 400, 'invalid_json');
    assertApiError(await postJson('s', '[1,2]'), 400, 'invalid_message');
    assertApiError(await postJson('s', 'null'), 400, 'invalid_json');
    assertApiError(await postJson('s', '{"author":1,"text":"x"}'), 400, 'invalid_message');
    assertApiError(await postJson('s', '{"author":"a","text":["x"]}'), 400, 'invalid_message');
    assertApiError(await postJson('s', '{"author":"a"}'), 400, 'invalid_message');
    const missing = await postJson('s', '{}');
    assert.match(missing.body.error.message, /author is required.*text is required/);
  });

  it('enforces author and text lengths after trimming', async () => {
    assertApiError(await postJson('s', JSON.stringify({ author: '   ', text: 'x' })), 400, 'invalid_message');
    assertApiError(await postJson('s', JSON.stringify({ author: 'a', text: ' \n ' })), 400, 'invalid_message');
    assertApiError(await postJson('s', JSON.stringify({ author: 'a'.repeat(51), text: 'x' })), 400, 'invalid_message');
    assertApiError(await postJson('s', JSON.stringify({ author: 'a', text: 'x'.repeat(2001) })), 400, 'invalid_message');
    const ok = await postJson('s', JSON.stringify({ author: ` ${'a'.repeat(50)} `, text: ` ${'x'.repeat(2000)} ` })).expect(201);
    assert.equal(ok.body.author.length, 50);
    assert.equal(ok.body.text.length, 2000);
  });

  it('answers 413 for a body over 16 KiB and 415 for other content types', async () => {
    const huge = JSON.stringify({ author: 'a', text: 'x'.repeat(17 * 1024) });
    assertApiError(await postJson('s', huge), 413, 'body_too_large');
    assertApiError(await postJson('s', 'author=a&text=b', 'text/plain'), 415, 'unsupported_media_type');
    assertApiError(await postJson('s', '<m/>', 'application/xml'), 415, 'unsupported_media_type');
    assertApiError(await request(node.url).post('/streams/s/messages'), 415, 'unsupported_media_type');
  });

  it('rejects bad ids, formats and history queries', async () => {
    for (const bad of ['abc', '1-2-3', '-1', '1.5-0', '99999999999999999-0']) {
      const byQuery = await readBody(`${node.url}/streams/s/events?lastEventId=${encodeURIComponent(bad)}`);
      assert.equal(byQuery.status, 400, bad);
      assert.equal(JSON.parse(byQuery.body).error.code, 'invalid_last_event_id');
      const byHeader = await readBody(`${node.url}/streams/s/events`, { 'Last-Event-ID': bad });
      assert.equal(JSON.parse(byHeader.body).error.code, 'invalid_last_event_id');
      assertApiError(await request(node.url).get(`/streams/s/messages?after=${encodeURIComponent(bad)}`), 400, 'invalid_last_event_id');
      assertApiError(await request(node.url).get(`/streams/s?lastEventId=${encodeURIComponent(bad)}`), 400, 'invalid_last_event_id');
    }
    assertApiError(await request(node.url).get('/streams/s/events?format=xml'), 400, 'invalid_format');
    assertApiError(await request(node.url).get('/streams/s/events?lastEventId=1-0&lastEventId=2-0'), 400, 'invalid_last_event_id');
    for (const limit of ['0', '-1', 'ten', '1.5', '1000001']) {
      assertApiError(await request(node.url).get(`/streams/s/messages?limit=${limit}`), 400, 'invalid_query');
    }
  });

  it('answers unknown paths with a JSON 404', async () => {
    assertApiError(await request(node.url).get('/nope'), 404, 'not_found');
    assertApiError(await request(node.url).delete('/streams/s/messages'), 404, 'not_found');
  });

  it('never answers 5xx to random bodies, and keeps what it accepted', async () => {
    const accepted: string[] = [];
    const random = (length: number) => Array.from({ length }, () => String.fromCharCode(Math.floor(Math.random() * 0x2fff))).join('');
    const bodies = [
      '{"author":"a","text":"ok"}',
      '{"__proto__":{"x":1},"author":"p","text":"proto"}',
      '{"author":"a","text":"x","extra":{"deep":[1,2,3]}}',
      'author=%E0%A4%A&text=bad-percent',
      '\u0000\u0001',
      ...Array.from({ length: 30 }, () => random(Math.floor(Math.random() * 200))),
    ];
    for (const body of bodies) {
      for (const type of ['application/json', 'application/x-www-form-urlencoded', 'application/json; charset=latin9']) {
        const response = await postJson('fuzz', body, type);
        assert.ok(response.status < 500, `${response.status} for ${JSON.stringify(body)} as ${type}`);
        if (response.status === 201 && type.startsWith('application/json')) accepted.push(response.body.id);
      }
    }
    const history = await request(node.url).get('/streams/fuzz/messages?limit=1000').expect(200);
    for (const id of accepted) assert.ok(history.body.messages.some((m: { id: string }) => m.id === id));
    await request(node.url).get('/healthz').expect(200);
  });
});

describe('one node: post form', function () {
  let node: RunningNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  const form = (body: string, htmx = false) => {
    const call = request(node.url).post('/streams/room/messages').type('form').send(body);
    return htmx ? call.set('HX-Request', 'true') : call;
  };

  it('a plain form post answers 303 to the stream page, and the message is stored', async () => {
    const response = await form('author=ada&text=plain+post').expect(303);
    assert.equal(response.headers.location, '/streams/room');
    const page = await request(node.url).get('/streams/room').expect(200);
    assert.match(page.text, /plain post/);
  });

  it('an htmx post answers with the cleared form, name kept', async () => {
    const response = await form('author=ada&text=from+htmx', true).expect(201);
    assert.match(response.text, /^<form id="post-form"/);
    assert.match(response.text, /name="author"[^>]*value="ada"/);
    assert.match(response.text, /<textarea[^>]*><\/textarea>/);
  });

  it('takes a message at the length limits in any script: 2,000 CJK characters are 18 KB as a form', async () => {
    const author = '작'.repeat(50);
    const text = '漢'.repeat(2000);
    const body = `author=${encodeURIComponent(author)}&text=${encodeURIComponent(text)}`;
    assert.ok(Buffer.byteLength(body) > 16 * 1024, 'over MAX_BODY_BYTES as sent');
    await form(body, true).expect(201);
    await form(body).expect(303);
    // JSON with every character escaped, as some clients write it (12 KB).
    const escaped = JSON.stringify({ author, text }).replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const created = await request(node.url).post('/streams/room/messages').set('content-type', 'application/json').send(escaped).expect(201);
    assert.equal(created.body.text, text);
    const history = await request(node.url).get('/streams/room/messages?after=0-0&limit=1000').expect(200);
    assert.equal(history.body.messages.filter((message: { text: string }) => message.text === text).length, 3);
    // Past what the limits can take, the body is still refused, and the form says so.
    const tooBig = await form(`author=a&text=${encodeURIComponent('漢'.repeat(2100))}`, true);
    assert.equal(tooBig.status, 413, tooBig.text);
    assert.match(tooBig.text, /the request body is too large/);
  });

  it('a bad post shows the error in the form and keeps the text, escaped', async () => {
    const text = '<script>alert(1)</script>';
    const plain = await form(`author=&text=${encodeURIComponent(text)}`).expect(400);
    assert.match(plain.text, /<p id="post-error" class="error" role="alert">author is required<\/p>/);
    assert.match(plain.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/textarea>/);
    assert.match(plain.text, /<ol id="messages"/, 'the whole page, not a bare form');
    const htmx = await form(`author=ada&text=${'x'.repeat(2001)}`, true).expect(400);
    assert.match(htmx.text, /text is at most 2000 characters/);
  });

  it('bad bytes right behind a post Express serves: the post is answered first, then the error, then the connection closes', async () => {
    for (const [stream, headers, body] of [
      ['garbled-form', { 'Content-Type': 'application/x-www-form-urlencoded', 'HX-Request': 'true' }, 'author=a&text=hi'],
      // A Content-Encoding, even identity, is one the fast path leaves to Express.
      ['garbled-json', { 'Content-Type': 'application/json', 'Content-Encoding': 'identity' }, '{"author":"a","text":"hi"}'],
    ] as const) {
      const connection = await openRaw(node.url);
      try {
        connection.send(`${rawRequest('POST', `/streams/${stream}/messages`, headers, body)}XYZ\r\n\r\n`);
        const [created, refused] = await connection.responses(2);
        assert.equal(created!.status, 201, stream);
        assert.equal(refused!.status, 400, stream);
        assert.equal(JSON.parse(refused!.body).error.code, 'bad_request');
        await connection.closed;
      } finally {
        connection.close();
      }
      const history = await request(node.url).get(`/streams/${stream}/messages`).expect(200);
      assert.deepEqual(history.body.messages.map((message: { text: string }) => message.text), ['hi']);
    }
  });

  it('the rate limit shows as an error in the form (429) and as JSON on the API', async () => {
    const limitedNode = await startTestNode({ RATE_LIMIT_POSTS: '2', RATE_LIMIT_WINDOW_MS: '60000' });
    try {
    const form = (body: string, htmx = false) => {
      const call = request(limitedNode.url).post('/streams/room/messages').type('form').send(body);
      return htmx ? call.set('HX-Request', 'true') : call;
    };
    await form('author=ada&text=one', true).expect(201);
    await form('author=ada&text=two', true).expect(201);
    const limited = await form('author=ada&text=one+too+many', true);
    assert.equal(limited.status, 429);
    assert.match(limited.text, /too many messages/);
    assert.match(limited.text, /one too many<\/textarea>/);
    const api = await request(limitedNode.url).post('/streams/room/messages').send({ author: 'a', text: 'b' });
    assert.equal(api.status, 429);
    assert.equal(api.body.error.code, 'rate_limited');
    } finally {
      await limitedNode.close();
    }
  });
});
