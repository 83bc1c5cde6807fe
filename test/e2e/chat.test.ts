// The chat page in a real browser against one node: what a person sees and does. Every test ends
// by checking that no console error, page error or dialog happened in any of its contexts.
import assert from 'node:assert/strict';
import type { Browser, BrowserContextOptions } from 'playwright-core';
import type { RunningNode } from '../../server/node.js';
import {
  DESKTOP,
  NODE_DOWN,
  PHONE,
  assertNoProblems,
  historyIds,
  httpStatus,
  launchBrowser,
  messageIds,
  messageTexts,
  openContext,
  openStream,
  postMessage,
  screenshot,
  sendAtOnce,
  sendFromForm,
  waitForClearedBox,
  waitForStatus,
  waitForTexts,
  type WatchedContext,
} from '../helpers/browser.js';
import { startTestNode } from '../helpers/node.js';

describe('e2e: the chat page on one node', function () {
  let browser: Browser;
  let node: RunningNode;
  let contexts: WatchedContext[] = [];

  const open = async (options: BrowserContextOptions = DESKTOP) => {
    const watched = await openContext(browser, options);
    contexts.push(watched);
    return watched;
  };
  const noProblems = (...expected: RegExp[]) => assertNoProblems(contexts, ...expected);

  // What `before` starts, settled: `after` waits for it, so that a start that failed or outlasted
  // the hook is still stopped (a node left listening kept mocha from ever exiting).
  let starting: Promise<unknown> = Promise.resolve();

  before(async () => {
    const steps = [launchBrowser().then((started) => (browser = started)), startTestNode().then((started) => (node = started))];
    starting = Promise.allSettled(steps);
    await Promise.all(steps);
  });
  afterEach(async () => {
    await Promise.all(contexts.map((watched) => watched.close()));
    contexts = [];
  });
  after(async () => {
    await starting;
    await Promise.allSettled([browser?.close(), node?.close()]);
  });

  it('a message sent in one context appears in another, with author and local time; own marked', async () => {
    const [ada, bob] = await Promise.all([open(DESKTOP), open(PHONE)]);
    const [adaPage, bobPage] = await Promise.all([openStream(ada, node.url, 'hello'), openStream(bob, node.url, 'hello')]);

    await sendFromForm(adaPage, 'ada', 'hello from ada');
    await Promise.all([waitForTexts(adaPage, ['hello from ada']), waitForTexts(bobPage, ['hello from ada'])]);

    const seenByBob = bobPage.locator('#messages li.msg').last();
    assert.equal(await seenByBob.locator('.msg-author').textContent(), 'ada');
    assert.doesNotMatch((await seenByBob.getAttribute('class'))!, /\bown\b/, 'not own for bob');
    // Local time (Europe/Berlin in these contexts), without the server's UTC label.
    const datetime = (await seenByBob.locator('time').getAttribute('datetime'))!;
    const berlin = new Date(datetime).toLocaleTimeString('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' });
    assert.equal(await seenByBob.locator('time').textContent(), berlin);
    assert.equal(await seenByBob.locator('.msg-tz').count(), 0);

    assert.match((await adaPage.locator('#messages li.msg').last().getAttribute('class'))!, /\bown\b/);
    // The box is cleared and keeps the focus, ready for the next message.
    assert.equal(await adaPage.evaluate(() => document.activeElement?.id), 'text');

    // The name is remembered for the next visit.
    await adaPage.reload();
    await waitForStatus(adaPage, 'live');
    assert.equal(await adaPage.locator('#author').inputValue(), 'ada');
    assert.match((await adaPage.locator('#messages li.msg').last().getAttribute('class'))!, /\bown\b/);
    noProblems();
  });

  it('Enter sends, Shift+Enter adds a line', async () => {
    const page = await openStream(await open(), node.url, 'keys');
    await page.locator('#author').fill('kim');
    const box = page.locator('#text');
    await box.click();
    await box.pressSequentially('first line');
    await box.press('Shift+Enter');
    await box.pressSequentially('second line');
    assert.equal(await box.inputValue(), 'first line\nsecond line', 'Shift+Enter did not send');
    assert.equal(await page.locator('#messages li.msg').count(), 0);
    await box.press('Enter');
    await waitForTexts(page, ['first line\nsecond line']);
    await waitForClearedBox(page);
    // Shown as two lines, not one.
    const height = await page.locator('#messages li.msg .msg-text').evaluate((element) => element.getBoundingClientRect().height);
    const lineHeight = await page.locator('#messages li.msg .msg-text').evaluate((element) => parseFloat(getComputedStyle(element).lineHeight));
    assert.ok(height >= 1.9 * lineHeight, `two lines tall (${height} vs line ${lineHeight})`);
    noProblems();
  });

  it('groups one author\'s consecutive messages, wraps long words, and never makes links live', async () => {
    const page = await openStream(await open(PHONE), node.url, 'group');
    const longWord = 'x'.repeat(300);
    await postMessage(node.url, 'group', 'bob', 'first');
    await postMessage(node.url, 'group', 'bob', 'second, same author');
    await postMessage(node.url, 'group', 'cy', `see https://example.com/${longWord}`);
    await postMessage(node.url, 'group', 'bob', 'bob again');
    await waitForTexts(page, ['bob again']);
    const classes = await page.$$eval('#messages li.msg', (items) => items.map((item) => item.classList.contains('cont')));
    assert.deepEqual(classes, [false, true, false, false]);
    assert.equal(await page.locator('#messages a').count(), 0, 'no link elements');
    const overflow = await page.locator('#log').evaluate((log) => log.scrollWidth - log.clientWidth);
    assert.ok(overflow <= 0, `no sideways scroll at 375 px (overflow ${overflow})`);
    noProblems();
  });

  it('three people sending at once: both viewers show every message in the same order', async () => {
    const senders = await Promise.all([open(DESKTOP), open(PHONE), open(DESKTOP)]);
    const pages = await Promise.all(senders.map((watched) => openStream(watched, node.url, 'race')));
    const all = await sendAtOnce(pages, 5);
    await Promise.all(pages.map((page) => waitForTexts(page, all)));
    const [first, ...others] = await Promise.all(pages.map(messageIds));
    assert.equal(first!.length, all.length, 'each message exactly once');
    for (const other of others) assert.deepEqual(other, first);
    // That order is the stream's id order.
    assert.deepEqual(first, await historyIds(node.url, 'race'));
    noProblems();
  });

  it('XSS payloads arrive as text, live and after a reload; no script runs, no dialog fires', async () => {
    const viewer = await open();
    const page = await openStream(viewer, node.url, 'xss');
    const payloads = ['<img src=x onerror=alert(1)>', '</li><script>alert(2)</script>', '"><svg onload=alert(3)>'];
    await sendFromForm(page, '<b onmouseover=alert(4)>eve</b>', payloads[0]!);
    for (const text of payloads.slice(1)) await postMessage(node.url, 'xss', '"><img src=y onerror=alert(5)>', text);
    await waitForTexts(page, payloads);
    const check = async () => {
      assert.deepEqual(await messageTexts(page), payloads);
      assert.equal(await page.locator('#messages img, #messages script, #messages svg, #messages b').count(), 0);
      assert.equal(await page.locator('#messages li.msg').count(), 3, 'the </li> did not split the list');
      assert.equal(await page.locator('#messages .msg-author').first().textContent(), '<b onmouseover=alert(4)>eve</b>');
    };
    await check();
    await page.locator('#messages li.msg').first().hover();
    await page.reload();
    await waitForStatus(page, 'live');
    await check();
    noProblems();
  });

  it('sticks to the bottom while reading the latest, and shows a marker instead of jumping when scrolled up', async () => {
    const page = await openStream(await open(PHONE), node.url, 'scroll');
    for (let index = 0; index < 30; index++) await postMessage(node.url, 'scroll', `p${index % 3}`, `message ${index}`);
    await waitForTexts(page, ['message 29']);
    const distance = () => page.locator('#log').evaluate((log) => log.scrollHeight - log.scrollTop - log.clientHeight);
    assert.ok((await distance()) < 2, 'followed the new messages');

    await page.locator('#log').evaluate((log) => log.scrollTo({ top: 0 }));
    await page.waitForFunction(() => document.getElementById('log')!.scrollTop === 0);
    await postMessage(node.url, 'scroll', 'p1', 'arrived while scrolled up');
    await waitForTexts(page, ['arrived while scrolled up']);
    const marker = page.locator('#new-messages');
    await marker.waitFor({ state: 'visible' });
    assert.equal(await marker.textContent(), '1 new message ↓');
    assert.equal(await page.locator('#log').evaluate((log) => log.scrollTop), 0, 'did not jump');

    await marker.click();
    await marker.waitFor({ state: 'hidden' });
    assert.ok((await distance()) < 2);
    await postMessage(node.url, 'scroll', 'p2', 'and at the bottom again');
    await waitForTexts(page, ['and at the bottom again']);
    await page.waitForFunction(() => {
      const log = document.getElementById('log')!;
      return log.scrollHeight - log.scrollTop - log.clientHeight < 2;
    });
    noProblems();
  });

  it('a rejected post shows its error inline and keeps the text; so does a node that is gone', async () => {
    const limited = await startTestNode({ RATE_LIMIT_POSTS: '2', RATE_LIMIT_WINDOW_MS: '60000', SHUTDOWN_TIMEOUT_MS: '1500' });
    const watched = await open();
    try {
      const page = await openStream(watched, limited.url, 'errors');
      // Blank after trimming: the server says so, inside the form.
      await page.locator('#author').fill('rae');
      await page.locator('#text').fill('   ');
      await page.locator('#text').press('Enter');
      await page.locator('#post-error').waitFor();
      assert.equal(await page.locator('#post-error').textContent(), 'text is required');
      assert.equal(await page.locator('#post-error').getAttribute('role'), 'alert');
      assert.equal(await page.locator('#text').getAttribute('aria-invalid'), 'true');

      await sendFromForm(page, 'rae', 'one');
      assert.equal(await page.locator('#post-error').count(), 0, 'a good post clears the error');
      await page.locator('#text').fill('over the limit');
      await page.locator('#text').press('Enter');
      await page.locator('#post-error').waitFor();
      assert.match((await page.locator('#post-error').textContent())!, /too many messages/);
      assert.equal(await page.locator('#text').inputValue(), 'over the limit');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'text');
      await screenshot(page, 'chat-error-desktop');

      await limited.close();
      await waitForStatus(page, 'reconnecting');
      await page.locator('#text').press('Enter');
      await page.waitForFunction(() => /Could not reach the server/.test(document.getElementById('post-error')?.textContent ?? ''));
      assert.equal(await page.locator('#text').inputValue(), 'over the limit');
      // The browser reports the refused connections; nothing else may appear.
      noProblems(httpStatus(400), httpStatus(429), NODE_DOWN);
    } finally {
      await limited.close();
    }
  });

  it('an error page from a proxy never replaces the form: the error shows inline, the text stays', async () => {
    const page = await openStream(await open(), node.url, 'proxy');
    await page.route('**/streams/proxy/messages', (route) =>
      route.fulfill({ status: 502, contentType: 'text/html', body: '<html><body><h1>502 Bad Gateway</h1></body></html>' }),
    );
    await page.locator('#author').fill('pat');
    await page.locator('#text').fill('through a broken proxy');
    await page.locator('#text').press('Enter');
    await page.locator('#post-error').waitFor();
    assert.match((await page.locator('#post-error').textContent())!, /Sending failed \(502\)/);
    assert.equal(await page.locator('#text').inputValue(), 'through a broken proxy');
    assert.equal(await page.locator('h1', { hasText: 'Bad Gateway' }).count(), 0);
    noProblems(httpStatus(502));
  });

  it('a post on its way shows as sending; text typed meanwhile stays, and a second Enter sends nothing twice', async () => {
    const page = await openStream(await open(), node.url, 'slow-net');
    // The network holds the post until the test lets it go.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let posts = 0;
    await page.route('**/streams/slow-net/messages', async (route) => {
      posts += 1;
      await held;
      await route.continue();
    });
    await page.locator('#author').fill('sam');
    await page.locator('#text').fill('first, slowly');
    await page.locator('#text').press('Enter');
    await page.waitForFunction(() => document.getElementById('post-form')?.getAttribute('aria-busy') === 'true');
    assert.equal(await page.locator('#post-form .send').isDisabled(), true, 'Send is disabled while the post travels');
    // Typed on while it travels, then Enter again: dropped, not sent, and not lost.
    await page.locator('#text').press('End');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.insertText('and then more');
    await page.locator('#text').press('Enter');
    // What the box holds as each new form goes in, before anything later can fill it.
    await page.evaluate(() => {
      const shown: string[] = [];
      Object.assign(window, { boxesShown: shown });
      const watch = new MutationObserver(() => shown.push((document.getElementById('text') as HTMLTextAreaElement | null)?.value ?? '(none)'));
      watch.observe(document.getElementById('post-form')!.parentElement!, { childList: true });
    });
    letGo();
    await waitForTexts(page, ['first, slowly']);
    await page.waitForFunction(() => document.getElementById('post-form')?.getAttribute('aria-busy') === null);
    assert.equal(await page.locator('#text').inputValue(), 'and then more');
    const shown = await page.evaluate(() => (window as unknown as { boxesShown: string[] }).boxesShown);
    assert.ok(shown.length > 0 && shown.every((text) => text === 'and then more'), `the new form never showed the box otherwise: ${JSON.stringify(shown)}`);
    assert.equal(await page.locator('#post-form .send').isDisabled(), false);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'text');
    await page.unroute('**/streams/slow-net/messages');
    await page.locator('#text').press('Enter');
    await waitForTexts(page, ['and then more']);
    assert.deepEqual(await messageTexts(page), ['first, slowly', 'and then more']);
    assert.equal(posts, 1, 'the second Enter during the first post sent nothing');
    noProblems();
  });

  it('text pasted past the limit is refused whole and kept whole, never cut; so is a body past the size limit', async () => {
    const page = await openStream(await open(), node.url, 'long-paste');
    await page.locator('#author').fill('lin');
    await page.locator('#text').focus();
    // insertText is what a paste does: the browser's own editing, with its field limits.
    await page.keyboard.insertText(`${'word '.repeat(420)}end`);
    assert.equal((await page.locator('#text').inputValue()).length, 2103);
    await page.locator('#text').press('Enter');
    await page.locator('#post-error').waitFor();
    assert.equal(await page.locator('#post-error').textContent(), 'text is at most 2000 characters');
    assert.equal((await page.locator('#text').inputValue()).length, 2103);

    // 2,100 CJK characters are 19 KB as a form: the server refuses the body unread (413), and the
    // form it sends back has no text to keep; the page keeps the person's own.
    const cjk = '漢'.repeat(2100);
    await page.locator('#text').fill('');
    await page.keyboard.insertText(cjk);
    await page.locator('#text').press('Enter');
    await page.waitForFunction(() => /too large/.test(document.getElementById('post-error')?.textContent ?? ''));
    assert.equal(await page.locator('#text').inputValue(), cjk);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'text');
    assert.equal(await page.locator('#messages li.msg').count(), 0);
    noProblems(httpStatus(400), httpStatus(413));
  });

  it('works with JavaScript off: a plain form post, then the page with the message', async () => {
    await postMessage(node.url, 'nojs', 'ann', 'before');
    const watched = await open({ ...DESKTOP, javaScriptEnabled: false });
    const page = await watched.newPage();
    await page.goto(`${node.url}/streams/nojs`);
    assert.equal(await page.locator('.msg-tz').first().textContent(), ' UTC', 'server times are labelled UTC');
    await page.locator('#author').fill('noscript');
    await page.locator('#text').fill('sent without JavaScript');
    await Promise.all([page.waitForURL(`${node.url}/streams/nojs`), page.locator('button.send').click()]);
    assert.deepEqual(await messageTexts(page), ['before', 'sent without JavaScript']);
    // An error comes back as the whole page with the error in the form and the text kept.
    await page.locator('#author').fill('noscript');
    await page.locator('#text').fill('  ');
    await page.locator('button.send').click();
    await page.locator('#post-error').waitFor();
    assert.equal(await page.locator('#post-error').textContent(), 'text is required');
    noProblems(httpStatus(400));
  });

  it('the landing page: join by name with the keyboard, see active streams, get an error for a bad name', async () => {
    const viewer = await open(PHONE);
    await openStream(viewer, node.url, 'lobby-e2e');
    const visitor = await open();
    const page = await visitor.newPage();
    await page.goto(node.url);
    const active = page.locator('.stream-list a', { hasText: 'lobby-e2e' });
    assert.match((await active.textContent())!, /lobby-e2e\s+1 viewer/);

    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'join-name');
    await page.keyboard.type('keyboard-room');
    await Promise.all([page.waitForURL(`${node.url}/streams/keyboard-room`), page.keyboard.press('Enter')]);
    await waitForStatus(page, 'live');

    await page.goto(`${node.url}/join?stream=${encodeURIComponent('no spaces!')}`);
    assert.equal(await page.locator('#join-error').getAttribute('role'), 'alert');
    assert.equal(await page.locator('#join-name').inputValue(), 'no spaces!');
    noProblems(httpStatus(400));
  });

  it('keyboard only: every control is labelled, reachable with Tab, and shows a visible focus', async () => {
    const page = await openStream(await open(), node.url, 'keyboard');
    for (const id of ['author', 'text']) {
      assert.equal(await page.locator(`label[for="${id}"]`).count(), 1, `${id} has a label`);
    }
    const reached: string[] = [];
    for (let step = 0; step < 5; step++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const element = document.activeElement as HTMLElement;
        const style = getComputedStyle(element);
        return { name: element.id || element.className, outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
      });
      reached.push(focused.name);
      assert.ok(focused.outline, `${focused.name} shows where the focus is`);
    }
    assert.deepEqual(reached, ['home', 'log', 'author', 'text', 'send']);
    // Send with the keyboard alone.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.type('typed only');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.type('kbd');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await waitForTexts(page, ['typed only']);
    noProblems();
  });

  it('writes screenshots of the chat and landing pages at phone and desktop widths', async () => {
    const stream = 'design-review';
    const script: [string, string][] = [
      ['maria', 'Morning! Did the new build go out?'],
      ['maria', 'The dashboard looks a lot snappier here.'],
      ['jon', 'Yes, rolled out to eu-west at 09:10. Numbers look good so far.'],
      ['you', 'Great. I am checking the reconnect path now: kill a node, the page resumes from its last id.'],
      ['you', 'No duplicates so far, every message exactly once.'],
      ['jon', 'Log for reference: https://example.com/builds/2026/11/23/a-very-long-path-that-should-wrap-nicely-on-a-phone-screen'],
      ['maria', 'Line one\nLine two of a multi-line note.'],
    ];
    for (const [author, text] of script) await postMessage(node.url, stream, author, text);
    for (const [name, options] of [['phone', PHONE], ['desktop', DESKTOP], ['phone-dark', { ...PHONE, colorScheme: 'dark' }]] as const) {
      const watched = await open(options);
      await watched.context.addInitScript(() => {
        if (location.protocol === 'http:') localStorage.setItem('sse-chat:author', 'you');
      });
      const page = await openStream(watched, node.url, stream);
      await waitForTexts(page, [script.at(-1)![1]]);
      await page.locator('#text').fill('Typing a reply…');
      await screenshot(page, `chat-${name}`);
      if (name !== 'phone-dark') {
        await page.goto(node.url);
        await screenshot(page, `landing-${name}`);
      }
    }
    noProblems();
  });
});
