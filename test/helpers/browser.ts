// A real browser for end-to-end tests: Debian's /usr/bin/chromium driven by playwright-core
// (playwright's own browser download cannot work here). One browser per test file, a fresh
// context per test; every context records console errors, page errors and dialogs, so a test can
// assert that none happened, and helpers wait on the page instead of sleeping.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Screenshots for review (not asserted): `test-output/` at the repository root, gitignored. */
export const OUTPUT_DIR = fileURLToPath(new URL('../../../test-output/', import.meta.url));

export const PHONE: BrowserContextOptions = { viewport: { width: 375, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 } };

/**
 * Launches headless Chromium. playwright gives every launch a fresh temporary profile
 * (user-data-dir) and removes it on close, so runs never share storage.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Within the tests' 20 s hook, so that a launch that hangs fails there rather than after it.
    timeout: 15_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

export interface WatchedContext {
  context: BrowserContext;
  /** Console errors, uncaught page errors and dialogs (alert/confirm/prompt), in order. */
  problems: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** A fresh context (own storage, own cookies) whose pages report every problem. */
export async function openContext(browser: Browser, options: BrowserContextOptions = DESKTOP): Promise<WatchedContext> {
  const context = await browser.newContext({ locale: 'en-GB', timezoneId: 'Europe/Berlin', ...options });
  context.setDefaultTimeout(8_000);
  const problems: string[] = [];
  context.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  context.on('weberror', (error) => problems.push(`page error: ${error.error().message}`));
  context.on('dialog', (dialog) => {
    problems.push(`dialog (${dialog.type()}): ${dialog.message()}`);
    void dialog.dismiss().catch(() => {});
  });
  return { context, problems, newPage: () => context.newPage(), close: () => context.close() };
}

/**
 * Fails with the list of problems in `contexts`, leaving out those matching `expected`: what a
 * test caused on purpose (a 4xx the form shows, a node it stopped).
 */
export function assertNoProblems(contexts: WatchedContext[], ...expected: RegExp[]): void {
  const problems = contexts.flatMap((watched) => watched.problems);
  assert.deepEqual(problems.filter((problem) => !expected.some((pattern) => pattern.test(problem))), []);
}

/** The browser logs every 4xx/5xx answer as a console error; some are the point of a test. */
export function httpStatus(status: number): RegExp {
  return new RegExp(`^console error: Failed to load resource: the server responded with a status of ${status} `);
}

/**
 * What the browser logs while its node is down: refused connections, a 503 from a node that is
 * stopping or not yet connected to its broker, and htmx reporting those.
 */
export const NODE_DOWN = /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|status of 503 \(Service Unavailable\)|Failed to fetch|network error|htmx:sse:error/i;

/** Opens a stream page and waits until its live connection is up. */
export async function openStream(context: WatchedContext, baseUrl: string, stream: string, query = ''): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${baseUrl}/streams/${encodeURIComponent(stream)}${query}`);
  await waitForStatus(page, 'live');
  return page;
}

export function waitForStatus(page: Page, state: 'connecting' | 'live' | 'reconnecting' | 'offline', timeoutMs = 8_000): Promise<unknown> {
  return page.waitForSelector(`#status[data-state="${state}"]`, { timeout: timeoutMs, state: 'attached' });
}

/** The texts of the messages in the list, top to bottom. */
export function messageTexts(page: Page): Promise<string[]> {
  return page.$$eval('#messages li.msg .msg-text', (items) => items.map((item) => item.textContent ?? ''));
}

/** The ids of the messages in the list, top to bottom. */
export function messageIds(page: Page): Promise<string[]> {
  return page.$$eval('#messages li.msg', (items) => items.map((item) => (item as HTMLElement).dataset.id ?? ''));
}

/** Waits until every one of `texts` is shown in the message list. */
export async function waitForTexts(page: Page, texts: string[], timeoutMs = 8_000): Promise<void> {
  await page.waitForFunction(
    (expected) => {
      const shown = new Set([...document.querySelectorAll('#messages li.msg .msg-text')].map((item) => item.textContent));
      return expected.every((text) => shown.has(text));
    },
    texts,
    { timeout: timeoutMs },
  );
}

/** Types into the post form like a person and sends with Enter; waits for the cleared box. */
export async function sendFromForm(page: Page, author: string, text: string): Promise<void> {
  const name = page.locator('#author');
  if ((await name.inputValue()) !== author) await name.fill(author);
  await page.locator('#text').fill(text);
  await page.locator('#text').press('Enter');
  await waitForClearedBox(page);
}

/**
 * Waits for the post form's box to be emptied, which the page does once the server took the post.
 * The message's own frame may arrive first: the node writes frames before the poster's 201.
 */
export function waitForClearedBox(page: Page, timeoutMs = 8_000): Promise<unknown> {
  return page.waitForFunction(() => (document.getElementById('text') as HTMLTextAreaElement | null)?.value === '', undefined, { timeout: timeoutMs });
}

/**
 * Every page sends `perPage` messages through its own form, all pages at once (each person one
 * message after the other, as people type). Resolves with every text sent.
 */
export async function sendAtOnce(pages: Page[], perPage: number): Promise<string[]> {
  const texts = pages.map((_, who) => Array.from({ length: perPage }, (_, index) => `sender ${who} message ${index}`));
  await Promise.all(
    pages.map(async (page, who) => {
      for (const text of texts[who]!) await sendFromForm(page, `sender${who}`, text);
    }),
  );
  return texts.flat();
}

/** The ids the stream retains, oldest first, from the JSON API. */
export async function historyIds(baseUrl: string, stream: string): Promise<string[]> {
  const response = await fetch(`${baseUrl}/streams/${encodeURIComponent(stream)}/messages?after=0-0&limit=1000`);
  const body = (await response.json()) as { messages: { id: string }[] };
  return body.messages.map((message) => message.id);
}

/** Posts through the JSON API, as another client would. */
export async function postMessage(baseUrl: string, stream: string, author: string, text: string): Promise<{ id: string }> {
  const response = await fetch(`${baseUrl}/streams/${encodeURIComponent(stream)}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ author, text }),
  });
  if (response.status !== 201) throw new Error(`post failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string };
}

/** Writes a full-page screenshot under test-output/ for a person to review. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(OUTPUT_DIR, { recursive: true });
  const path = `${OUTPUT_DIR}${name}.png`;
  await page.screenshot({ path });
  return path;
}
