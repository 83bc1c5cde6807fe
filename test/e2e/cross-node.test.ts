// Two nodes (separate processes) over a real Redis Cluster, each with its own browser context:
// what one person sends on one node, the other sees on the other, in the same order; and a page
// whose node restarts comes back live holding every message once.
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import {
  DESKTOP,
  NODE_DOWN,
  PHONE,
  assertNoProblems,
  historyIds,
  launchBrowser,
  messageIds,
  messageTexts,
  openContext,
  openStream,
  postMessage,
  sendAtOnce,
  sendFromForm,
  waitForStatus,
  waitForTexts,
  type WatchedContext,
} from '../helpers/browser.js';
import { spawnNode, type NodeProcess } from '../helpers/node.js';
import { startRedisCluster, waitUntil, type RedisClusterHandle } from '../helpers/redis-cluster.js';

describe('e2e: two nodes over a Redis Cluster', function () {
  this.timeout(60_000);
  let browser: Browser;
  let cluster: RedisClusterHandle;
  // Assigned in `before`; `after` copes with either missing.
  let eu: NodeProcess;
  let us: NodeProcess;
  let contexts: WatchedContext[] = [];

  const startNode = async (nodeId: string, region: string, port = '0') => {
    const node = await spawnNode({ REDIS_CLUSTER_NODES: cluster.envValue, NODE_ID: nodeId, REGION: region, PORT: port, SHUTDOWN_TIMEOUT_MS: '2000' });
    try {
      await waitUntil(() => fetch(`${node.url}/readyz`).then((response) => response.status === 200, () => false), 20_000, `${nodeId} ready`);
    } catch (error) {
      // A child left running would keep mocha from ever exiting.
      await node.stop(1000);
      throw error;
    }
    return node;
  };
  const open = async (options = DESKTOP) => {
    const watched = await openContext(browser, options);
    contexts.push(watched);
    return watched;
  };
  const noProblems = (...expected: RegExp[]) => assertNoProblems(contexts, ...expected);

  // What `before` starts, settled: `after` waits for it, so that a start that failed or outlasted
  // the hook is still stopped (a cluster left running kept mocha from ever exiting).
  let starting: Promise<unknown> = Promise.resolve();

  before(async function () {
    const base = [launchBrowser().then((started) => (browser = started)), startRedisCluster().then((started) => (cluster = started))];
    starting = Promise.allSettled(base);
    await Promise.all(base);
    const nodes = [startNode('e2e-eu', 'eu-west').then((started) => (eu = started)), startNode('e2e-us', 'us-east').then((started) => (us = started))];
    starting = Promise.allSettled([...base, ...nodes]);
    await Promise.all(nodes);
  });
  afterEach(async () => {
    await Promise.all(contexts.map((watched) => watched.close()));
    contexts = [];
  });
  after(async function () {
    await starting;
    await Promise.allSettled([browser?.close(), eu?.stop(3000), us?.stop(3000)]);
    await cluster?.stop();
  });

  it('one person sends on one node, the other sees it on the other node, and back', async () => {
    const [ada, bob] = await Promise.all([open(DESKTOP), open(PHONE)]);
    const [adaPage, bobPage] = await Promise.all([openStream(ada, eu.url, 'across'), openStream(bob, us.url, 'across')]);
    await sendFromForm(adaPage, 'ada', 'hello from eu-west');
    await waitForTexts(bobPage, ['hello from eu-west']);
    await sendFromForm(bobPage, 'bob', 'hello back from us-east');
    await waitForTexts(adaPage, ['hello back from us-east']);
    const expected = ['hello from eu-west', 'hello back from us-east'];
    assert.deepEqual(await messageTexts(adaPage), expected);
    assert.deepEqual(await messageTexts(bobPage), expected);
    assert.deepEqual(await messageIds(adaPage), await messageIds(bobPage));
    noProblems();
  });

  it('three people type at once on two nodes: both viewers show the same order', async () => {
    const senders = await Promise.all([open(DESKTOP), open(PHONE), open(DESKTOP)]);
    const pages = await Promise.all(senders.map((watched, index) => openStream(watched, index === 1 ? us.url : eu.url, 'storm-e2e')));
    const all = await sendAtOnce(pages, 4);
    await Promise.all(pages.map((page) => waitForTexts(page, all)));
    const [onEu, onUs, onEuToo] = await Promise.all(pages.map(messageIds));
    assert.equal(onEu!.length, all.length, 'each message exactly once');
    assert.deepEqual(onUs, onEu);
    assert.deepEqual(onEuToo, onEu);
    assert.deepEqual(onEu, await historyIds(us.url, 'storm-e2e'));
    noProblems();
  });

  it('the node a page is on restarts: reconnecting, then live, with what was sent meanwhile, once each', async () => {
    const page = await openStream(await open(PHONE), us.url, 'node-restart');
    await postMessage(eu.url, 'node-restart', 'ann', 'before the restart');
    await waitForTexts(page, ['before the restart']);

    const port = new URL(us.url).port;
    await us.stop();
    await waitForStatus(page, 'reconnecting');
    for (const text of ['meanwhile 1', 'meanwhile 2', 'meanwhile 3']) await postMessage(eu.url, 'node-restart', 'bo', text);
    us = await startNode('e2e-us', 'us-east', port);
    await waitForStatus(page, 'live', 20_000);
    await waitForTexts(page, ['meanwhile 3']);
    await postMessage(eu.url, 'node-restart', 'ann', 'after the restart');
    await waitForTexts(page, ['after the restart']);

    assert.deepEqual(await messageTexts(page), ['before the restart', 'meanwhile 1', 'meanwhile 2', 'meanwhile 3', 'after the restart']);
    noProblems(NODE_DOWN);
  });
});
