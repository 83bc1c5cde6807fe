// The HTML pages as a browser receives them: escaping, the htmx wiring and assets served locally.
import assert from 'node:assert/strict';
import request from 'supertest';
import { MemoryBroker } from '../../server/broker/memory.js';
import type { RunningNode } from '../../server/node.js';
import { startTestNode } from '../helpers/node.js';
import { openSse } from '../helpers/sse-reader.js';

describe('one node: pages', function () {
  let node: RunningNode;
  before(async () => {
    node = await startTestNode({ PAGE_HISTORY: '3' });
  });
  after(() => node.close());

  it('renders the latest history escaped, and resumes live after its last message', async () => {
    const ids: string[] = [];
    for (const text of ['one', 'two', '<img src=x onerror=alert(1)>', '</li><script>alert(2)</script>']) {
      ids.push((await request(node.url).post('/streams/page/messages').send({ author: '<i>eve</i>', text }).expect(201)).body.id);
    }
    const page = await request(node.url).get('/streams/page').expect(200);
    assert.match(page.headers['content-type']!, /text\/html/);
    assert.ok(!page.text.includes('>one<'), 'only the latest PAGE_HISTORY messages');
    assert.ok(!/<img src=x|<script>alert|<i>eve/.test(page.text));
    assert.match(page.text, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.match(page.text, new RegExp(`hx-sse:connect="/streams/page/events\\?format=html&amp;lastEventId=${ids[3]}"`));
    assert.match(page.text, /<script src="\/vendor\/htmx.min.js"><\/script>/);
    assert.match(page.text, /<script src="\/vendor\/ext\/hx-sse.js"><\/script>/);
  });

  it('renders the messages after ?lastEventId= for a page reopened later', async () => {
    const ids: string[] = [];
    for (const text of ['a1', 'a2', 'a3']) ids.push((await request(node.url).post('/streams/later/messages').send({ author: 'x', text }).expect(201)).body.id);
    const page = await request(node.url).get(`/streams/later?lastEventId=${ids[0]}`).expect(200);
    assert.ok(!page.text.includes('>a1<'));
    assert.match(page.text, />a2<.*>a3</s);
    assert.match(page.text, new RegExp(`lastEventId=${ids[2]}"`));
  });

  it('an empty stream resumes from 0-0 so nothing posted before the connection is missed', async () => {
    const page = await request(node.url).get('/streams/empty-one').expect(200);
    assert.match(page.text, /lastEventId=0-0"/);
  });

  it('a first visit to a room whose messages all aged out tells of no missed messages', async () => {
    // The clock is an hour ahead of this machine's, as a Redis shard's may be ahead of a node's.
    let clock = Date.now() + 3_600_000;
    const broker = new MemoryBroker({ historySize: 100, historyMaxAgeMs: 1000, nodeId: 'n', region: 'r', now: () => clock });
    const aging = await startTestNode({}, { broker });
    try {
      const ids: string[] = [];
      for (const text of ['old1', 'old2', 'old3']) ids.push((await request(aging.url).post('/streams/aged/messages').send({ author: 'x', text }).expect(201)).body.id);
      clock += 5000;
      const page = await request(aging.url).get('/streams/aged').expect(200);
      assert.ok(!page.text.includes('>old1<'), 'aged-out messages are not rendered');
      const events = /hx-sse:connect="([^"]+)"/.exec(page.text)![1]!.replaceAll('&amp;', '&');
      assert.match(events, new RegExp(`lastEventId=${ids[2]}$`), 'resumes from where the stream is');

      const viewer = await openSse(`${aging.url}${events}`);
      const posted = (await request(aging.url).post('/streams/aged/messages').send({ author: 'x', text: 'new' }).expect(201)).body.id;
      await viewer.messages(1);
      assert.deepEqual(viewer.events.map((event) => event.event ?? event.id), [posted], 'no reset before it');
      viewer.close();

      // A browser back from before those three: the page says they are gone, and its live stream
      // starts where the stream is, so it does not say so a second time.
      clock += 5000;
      const back = await request(aging.url).get(`/streams/aged?lastEventId=${ids[0]}`).expect(200);
      assert.match(back.text, /no longer kept/);
      const backEvents = /hx-sse:connect="([^"]+)"/.exec(back.text)![1]!.replaceAll('&amp;', '&');
      assert.match(backEvents, new RegExp(`lastEventId=${posted}$`));
      const resumed = await openSse(`${aging.url}${backEvents}`);
      const next = (await request(aging.url).post('/streams/aged/messages').send({ author: 'x', text: 'next' }).expect(201)).body.id;
      await resumed.messages(1);
      assert.deepEqual(resumed.events.map((event) => event.event ?? event.id), [next], 'no reset from the stream');
      resumed.close();
    } finally {
      await aging.close();
    }
  });

  it('a link with an id past the stream resumes the page from where the stream is', async () => {
    // Kept by the browser as seen, such an id would stop it resuming this room for good.
    const id = (await request(node.url).post('/streams/made-up/messages').send({ author: 'x', text: 'real' }).expect(201)).body.id;
    const page = await request(node.url).get('/streams/made-up?lastEventId=9999999999999-0').expect(200);
    assert.match(page.text, new RegExp(`lastEventId=${id}"`));
  });

  it('serves htmx and its SSE extension from this node', async () => {
    const core = await request(node.url).get('/vendor/htmx.min.js').expect(200);
    assert.match(core.headers['content-type']!, /javascript/);
    const sse = await request(node.url).get('/vendor/ext/hx-sse.js').expect(200);
    assert.match(sse.text, /registerExtension\('sse'/);
    await request(node.url).get('/static/chat.css').expect(200);
    await request(node.url).get('/static/chat.js').expect(200);
  });

  it('joins a stream by name from the landing page, with an error for a bad name', async () => {
    const ok = await request(node.url).get('/join?stream=general').expect(303);
    assert.equal(ok.headers.location, '/streams/general');
    const bad = await request(node.url).get('/join?stream=%3Cscript%3E').expect(400);
    assert.match(bad.text, /role="alert"/);
    assert.match(bad.text, /value="&lt;script&gt;"/);
  });
});
