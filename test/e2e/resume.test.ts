// Resuming in a real browser: the page's node restarts under it, a page reopened later catches up
// from the last message it showed, and a page that was away too long is told what it lost.
// The node keeps one in-memory broker across its restart, as a Redis-backed node keeps Redis.
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { Broker } from '../../server/broker/broker.js';
import { MemoryBroker } from '../../server/broker/memory.js';
import type { RunningNode } from '../../server/node.js';
import {
  NODE_DOWN,
  assertNoProblems,
  launchBrowser,
  messageIds,
  messageTexts,
  openContext,
  openStream,
  postMessage,
  waitForStatus,
  waitForTexts,
  type WatchedContext,
} from '../helpers/browser.js';
import { startTestNode } from '../helpers/node.js';

/** The one node of a test, restartable on the same port with the same broker (and history). */
interface RestartableNode {
  url: string;
  broker: MemoryBroker;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function restartableNode(historySize = 1000, env: Record<string, string> = {}): Promise<RestartableNode> {
  const broker = new MemoryBroker({ historySize, historyMaxAgeMs: 0, nodeId: 'shared', region: 'test' });
  // The node closes its broker when it stops; this one must outlive it.
  const outliving = new Proxy(broker, {
    get: (target, key) => (key === 'close' ? async () => {} : Reflect.get(target, key, target)),
  }) as Broker;
  const options = { SHUTDOWN_TIMEOUT_MS: '1500', ...env };
  let node: RunningNode | null = await startTestNode(options, { broker: outliving });
  const port = new URL(node.url).port;
  return {
    url: node.url,
    broker,
    async stop() {
      await node?.close();
      node = null;
    },
    async start() {
      node = await startTestNode({ ...options, PORT: port }, { broker: outliving });
    },
  };
}

describe('e2e: resuming after a restart, a reopen or a long absence', function () {
  let browser: Browser;
  let contexts: WatchedContext[] = [];
  let nodes: RestartableNode[] = [];

  const open = async () => {
    const watched = await openContext(browser);
    contexts.push(watched);
    return watched;
  };
  const node = async (historySize?: number, env?: Record<string, string>) => {
    const started = await restartableNode(historySize, env);
    nodes.push(started);
    return started;
  };
  const noProblems = (...expected: RegExp[]) => assertNoProblems(contexts, ...expected);

  before(async () => {
    browser = await launchBrowser();
  });
  afterEach(async () => {
    await Promise.all(contexts.map((watched) => watched.close()));
    await Promise.all(nodes.map((started) => started.stop()));
    contexts = [];
    nodes = [];
  });
  after(async () => {
    await browser?.close();
  });

  it('the node restarts under the page: reconnecting, then live, every message exactly once', async () => {
    const server = await node();
    const page = await openStream(await open(), server.url, 'restart');
    for (const text of ['before 1', 'before 2', 'before 3']) await postMessage(server.url, 'restart', 'ann', text);
    await waitForTexts(page, ['before 3']);

    await server.stop();
    await waitForStatus(page, 'reconnecting');
    // Posted while the page is cut off (as through another node): only the broker has them.
    for (const text of ['while down 1', 'while down 2', 'while down 3']) await server.broker.publish('restart', { author: 'bo', text });
    await server.start();
    await waitForStatus(page, 'live', 15_000);
    await waitForTexts(page, ['while down 3']);
    await postMessage(server.url, 'restart', 'ann', 'after');
    await waitForTexts(page, ['after']);

    const expected = ['before 1', 'before 2', 'before 3', 'while down 1', 'while down 2', 'while down 3', 'after'];
    assert.deepEqual(await messageTexts(page), expected);
    const history = await server.broker.history('restart', '0-0', 100);
    assert.deepEqual(await messageIds(page), history.messages.map((message) => message.id));
    noProblems(NODE_DOWN);
  });

  it('a page reopened later shows the messages it missed, once each, then the live ones', async () => {
    // The page renders only 5 messages, so the 12 missed ones are not simply "the recent history".
    const server = await node(1000, { PAGE_HISTORY: '5' });
    const watched = await open();
    const first = await openStream(watched, server.url, 'reopen');
    for (const text of ['seen 1', 'seen 2', 'seen 3']) await postMessage(server.url, 'reopen', 'ann', text);
    await waitForTexts(first, ['seen 3']);
    const lastSeen = (await messageIds(first)).at(-1);
    assert.equal(await first.evaluate(() => localStorage.getItem('sse-chat:last-id:reopen')), lastSeen);
    await first.close();

    const missed = Array.from({ length: 12 }, (_, index) => `missed ${index + 1}`);
    for (const text of missed) await postMessage(server.url, 'reopen', 'bo', text);

    const again = await watched.newPage();
    await again.goto(`${server.url}/streams/reopen`);
    await waitForStatus(again, 'live');
    await waitForTexts(again, missed);
    await postMessage(server.url, 'reopen', 'bo', 'live after reopening');
    await waitForTexts(again, ['live after reopening']);
    assert.deepEqual(await messageTexts(again), [...missed, 'live after reopening']);
    assert.equal(new URL(again.url()).search, '', 'the address is the plain stream page again');
    assert.match((await again.locator('.log > .notice').textContent())!, /since you last looked/);

    // Caught up: the next visit shows the recent history with no detour.
    await again.reload();
    await waitForStatus(again, 'live');
    assert.deepEqual(await messageTexts(again), ['missed 9', 'missed 10', 'missed 11', 'missed 12', 'live after reopening']);
    noProblems();
  });

  it('a page reopened after everything it missed aged out says so, and does not count what it saw', async () => {
    let clock = Date.now();
    const broker = new MemoryBroker({ historySize: 1000, historyMaxAgeMs: 60_000, nodeId: 'aging', region: 'test', now: () => clock });
    const server = await startTestNode({}, { broker });
    try {
      const watched = await open();
      const first = await openStream(watched, server.url, 'aged');
      await postMessage(server.url, 'aged', 'ann', 'seen');
      await waitForTexts(first, ['seen']);
      await first.close();
      for (const text of ['missed 1', 'missed 2']) await postMessage(server.url, 'aged', 'bo', text);
      clock += 120_000;

      const again = await watched.newPage();
      const visited: string[] = [];
      again.on('framenavigated', (frame) => {
        if (frame === again.mainFrame()) visited.push(frame.url());
      });
      await again.goto(`${server.url}/streams/aged`);
      await waitForStatus(again, 'live');
      assert.ok(visited.some((url) => new URL(url).searchParams.has('lastEventId')), `sent to the catch-up page: ${visited.join(', ')}`);
      assert.match((await again.locator('.log > p.notice').allTextContents()).join(' '), /no longer kept/);
      // Told once: a reload shows the room as it is, with no detour and no notice.
      await again.reload();
      await waitForStatus(again, 'live');
      assert.equal(new URL(again.url()).search, '');
      assert.equal(await again.locator('.log > .notice').count(), 0, 'no notice after the reload');
      await postMessage(server.url, 'aged', 'bo', 'live after reopening');
      await waitForTexts(again, ['live after reopening']);
      assert.deepEqual(await messageTexts(again), ['live after reopening']);
      assert.equal(await again.locator('#messages li.notice').count(), 0);

      // A browser that never saw the room has missed nothing it could be told of.
      const stranger = await (await open()).newPage();
      await stranger.goto(`${server.url}/streams/aged`);
      await waitForStatus(stranger, 'live');
      await postMessage(server.url, 'aged', 'bo', 'for the stranger');
      await waitForTexts(stranger, ['for the stranger']);
      assert.equal(await stranger.locator('.log > .notice, #messages li.notice').count(), 0);
      noProblems();
    } finally {
      await server.close();
    }
  });

  it('a stored id the server would refuse is no detour: the page stays, and the next message shown replaces it', async () => {
    const server = await node();
    await postMessage(server.url, 'stored', 'ann', 'first');
    const page = await openStream(await open(), server.url, 'stored');
    // 16 digits: more than an id has, so sent back as ?lastEventId= it would be answered 400.
    await page.evaluate(() => localStorage.setItem('sse-chat:last-id:stored', '1-1234567890123456'));
    await page.reload();
    await waitForStatus(page, 'live');
    assert.equal(new URL(page.url()).search, '');
    const { id } = await postMessage(server.url, 'stored', 'bo', 'second');
    await waitForTexts(page, ['second']);
    assert.equal(await page.evaluate(() => localStorage.getItem('sse-chat:last-id:stored')), id);
    noProblems();
  });

  it('the browser goes offline: the indicator says so, and once back the page is live with nothing missed or doubled', async () => {
    const server = await node();
    const watched = await open();
    const page = await openStream(watched, server.url, 'offline');
    await postMessage(server.url, 'offline', 'ann', 'online 1');
    await waitForTexts(page, ['online 1']);

    await watched.context.setOffline(true);
    await waitForStatus(page, 'offline');
    await postMessage(server.url, 'offline', 'bo', 'sent while offline');
    await watched.context.setOffline(false);
    await waitForStatus(page, 'live', 15_000);
    await waitForTexts(page, ['sent while offline']);
    await postMessage(server.url, 'offline', 'ann', 'online 2');
    await waitForTexts(page, ['online 2']);
    assert.deepEqual(await messageTexts(page), ['online 1', 'sent while offline', 'online 2']);

    // The guard behind the resume: a message already on the page never shows twice.
    await page.evaluate(() => {
      const list = document.getElementById('messages')!;
      list.append(list.querySelector('li.msg')!.cloneNode(true));
    });
    await page.waitForFunction(() => document.querySelectorAll('#messages li.msg').length === 3);
    assert.deepEqual(await messageTexts(page), ['online 1', 'sent while offline', 'online 2']);
    noProblems(NODE_DOWN, /ERR_INTERNET_DISCONNECTED/);
  });

  it('a page away longer than the history is told what it lost, then shows what is kept', async () => {
    const server = await node(5);
    const page = await openStream(await open(), server.url, 'away');
    await postMessage(server.url, 'away', 'ann', 'last seen');
    await waitForTexts(page, ['last seen']);

    await server.stop();
    await waitForStatus(page, 'reconnecting');
    const posted = Array.from({ length: 8 }, (_, index) => `later ${index + 1}`);
    for (const text of posted) await server.broker.publish('away', { author: 'bo', text });
    await server.start();
    await waitForStatus(page, 'live', 15_000);
    await waitForTexts(page, posted.slice(-5));

    assert.deepEqual(await messageTexts(page), ['last seen', ...posted.slice(-5)]);
    const notice = page.locator('#messages li.notice');
    assert.match((await notice.textContent())!, /earlier messages were missed/);
    assert.equal(await page.locator('#messages > li').nth(1).getAttribute('class'), 'notice', 'the notice sits where the gap is');
    noProblems(NODE_DOWN);
  });
});
