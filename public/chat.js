// The stream page's behaviour on top of htmx: local times, own and grouped messages, stick to the
// bottom with a "new messages" marker, the connection indicator, resuming from the last shown
// event id, and the post form's keyboard, focus and errors. The pages work without it.
(() => {
  'use strict';

  const AUTHOR_KEY = 'sse-chat:author';
  const lastIdKey = (stream) => `sse-chat:last-id:${stream}`;
  /** Same-author messages closer together than this are drawn as one group. */
  const GROUP_GAP_MS = 5 * 60 * 1000;
  /** This close to the bottom still counts as reading the latest. */
  const BOTTOM_SLACK_PX = 48;
  /** Failed reconnects in a row before "reconnecting" says "offline" (it keeps retrying). */
  const OFFLINE_AFTER_ATTEMPTS = 3;

  /** localStorage that never throws: private windows and disabled storage just forget. */
  const store = {
    get(key) {
      try {
        return localStorage.getItem(key);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        localStorage.setItem(key, value);
      } catch {
        // The page works the same, it only forgets on reload.
      }
    },
  };

  // As the server parses them (server/broker/ids.ts): a longer one would be sent back and refused.
  const ID_PATTERN = /^(\d{1,15})-(\d{1,15})$/;

  /** Event ids are `<ms>-<seq>`: compare as numbers (string order breaks at 10 vs 9). */
  function compareIds(a, b) {
    const x = ID_PATTERN.exec(a);
    const y = ID_PATTERN.exec(b);
    if (!x || !y) return 0;
    return Number(x[1]) - Number(y[1]) || Number(x[2]) - Number(y[2]);
  }

  if (window.htmx) {
    // The extension backs off to 60 s by default; a chat should come back sooner.
    htmx.config.sse = { ...htmx.config.sse, reconnectMaxDelay: 10_000 };
  }

  const chat = document.querySelector('.chat[data-stream]');
  if (!chat) return; // the landing page needs nothing more

  const stream = chat.dataset.stream;
  const list = document.getElementById('messages');
  const log = document.getElementById('log');
  const status = document.getElementById('status');
  const newMessages = document.getElementById('new-messages');

  // ---------- resume where this browser left off ----------

  /** The newest id this browser showed in this stream, when what is stored is one. */
  function storedShownId() {
    const stored = store.get(lastIdKey(stream));
    return stored && ID_PATTERN.test(stored) ? stored : null;
  }

  /**
   * The page renders the latest history. If this browser last showed a message older than the
   * first one rendered (or, with none rendered, older than where the stream is), messages in
   * between were never shown here: reload from the stored id (the server renders what came after
   * it, and says what is no longer kept). Runs before htmx starts, so no stream is opened for the
   * page being left.
   */
  function resumeFromStoredId() {
    const params = new URLSearchParams(location.search);
    if (params.has('lastEventId')) {
      const notice = document.createElement('p');
      notice.className = 'notice';
      notice.textContent = 'Welcome back: showing what was posted since you last looked.';
      list.before(notice);
      // A reload or a shared link should show the recent history, not this catch-up view.
      history.replaceState(history.state, '', location.pathname);
      // Up to where this page resumes, every message is on it or no longer kept, and the page said
      // so: with none rendered, a reload would otherwise come back here to say it again.
      const mark = chat.dataset.resumeAfter;
      const seen = storedShownId();
      if (mark && ID_PATTERN.test(mark) && (!seen || compareIds(mark, seen) > 0)) store.set(lastIdKey(stream), mark);
      return false;
    }
    const stored = storedShownId();
    const mark = list.querySelector('li.msg')?.dataset.id ?? chat.dataset.resumeAfter;
    if (!stored || !mark || compareIds(stored, mark) >= 0) return false;
    list.removeAttribute('hx-sse:connect');
    location.replace(`${location.pathname}?lastEventId=${encodeURIComponent(stored)}`);
    return true;
  }

  if (resumeFromStoredId()) return;

  // ---------- messages: local time, own, grouping, de-duplication ----------

  let myName = '';
  // Not a stored value that is no id (another version's, edited by hand): it would compare equal
  // to every id and block remembering for good.
  let lastShownId = storedShownId() ?? '';

  const timeOf = (item) => Date.parse(item.querySelector('time')?.getAttribute('datetime') ?? '');

  function showLocalTime(item) {
    item.querySelector('.msg-tz')?.remove();
    const time = item.querySelector('time');
    const when = new Date(time?.getAttribute('datetime') ?? '');
    if (!time || Number.isNaN(when.getTime())) return;
    const clock = when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const today = when.toDateString() === new Date().toDateString();
    time.textContent = today ? clock : `${when.toLocaleDateString([], { month: 'short', day: 'numeric' })}, ${clock}`;
    time.title = when.toLocaleString();
  }

  function markOwn(item) {
    item.classList.toggle('own', myName !== '' && item.dataset.author === myName);
  }

  /** A message continues the group above it: same author, shortly after, nothing in between. */
  function markContinued(item) {
    const previous = item.previousElementSibling;
    const gap = previous ? timeOf(item) - timeOf(previous) : NaN;
    const continues = previous?.matches('li.msg') && previous.dataset.author === item.dataset.author && gap >= 0 && gap < GROUP_GAP_MS;
    item.classList.toggle('cont', Boolean(continues));
  }

  function decorate(item) {
    showLocalTime(item);
    markOwn(item);
    markContinued(item);
  }

  function setMyName(name) {
    // The server trims the author, so compare trimmed.
    myName = name.trim();
    for (const item of list.querySelectorAll('li.msg')) markOwn(item);
  }

  /** Remembers the newest id shown, for a page reopened later and for resuming. */
  function rememberShown(id) {
    if (!ID_PATTERN.test(id) || (lastShownId && compareIds(id, lastShownId) <= 0)) return;
    lastShownId = id;
    store.set(lastIdKey(stream), id);
  }

  // ---------- stick to the bottom, or count what arrived below ----------

  let atBottom = true;
  let unseen = 0;
  /** scrollHeight before anything new arrived: judging by it, a scroll not yet reported counts. */
  let settledHeight = 0;

  const distanceFromBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight;
  const wasReadingLatest = () => settledHeight - log.scrollTop - log.clientHeight <= BOTTOM_SLACK_PX;

  function clearUnseen() {
    unseen = 0;
    newMessages.hidden = true;
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
    atBottom = true;
    settledHeight = log.scrollHeight;
    clearUnseen();
  }

  log.addEventListener(
    'scroll',
    () => {
      atBottom = distanceFromBottom() <= BOTTOM_SLACK_PX;
      settledHeight = log.scrollHeight;
      if (atBottom) clearUnseen();
    },
    { passive: true },
  );
  // The phone keyboard opening or a rotated screen must not leave the reader above the latest.
  new ResizeObserver(() => {
    if (atBottom) scrollToBottom();
    else settledHeight = log.scrollHeight;
  }).observe(log);

  newMessages.addEventListener('click', () => {
    scrollToBottom();
    log.focus({ preventScroll: true });
  });

  /** Call right after content was added at the end of the list. */
  function arrived(count, includesOwn, wasReading) {
    // Your own message always brings you down: you just sent it and expect to see it.
    if (wasReading || includesOwn) {
      scrollToBottom();
      return;
    }
    atBottom = false;
    settledHeight = log.scrollHeight;
    if (!count) return;
    unseen += count;
    newMessages.textContent = unseen === 1 ? '1 new message ↓' : `${unseen} new messages ↓`;
    newMessages.hidden = false;
  }

  // Every message that lands in the list, whoever put it there (history, SSE swap), goes through
  // here, so a duplicate can never stay on screen even if one slipped past the SSE guard below.
  new MutationObserver((records) => {
    const wasReading = wasReadingLatest();
    let count = 0;
    let includesOwn = false;
    let newest = '';
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (!(node instanceof HTMLLIElement) || !node.classList.contains('msg') || node.parentNode !== list) continue;
        if (document.getElementById(node.id) !== node) {
          node.remove();
          continue;
        }
        decorate(node);
        node.classList.add('arrived');
        count += 1;
        includesOwn ||= node.classList.contains('own');
        if (!newest || compareIds(node.dataset.id, newest) > 0) newest = node.dataset.id;
      }
    }
    if (newest) rememberShown(newest);
    if (count) arrived(count, includesOwn, wasReading);
  }).observe(list, { childList: true });

  // The live stream replays from the last id after a reconnect; skip anything already shown.
  list.addEventListener('htmx:sse:before:message', (event) => {
    const { message } = event.detail;
    if (!message.event && message.id && document.getElementById(`m-${message.id}`)) event.detail.cancelled = true;
  });

  // `event: reset`: the server no longer has some messages this page never saw.
  list.addEventListener('reset', (event) => {
    if (!(event instanceof CustomEvent)) return;
    let lost = 'unknown';
    try {
      lost = JSON.parse(event.detail?.data ?? '{}').lost ?? 'unknown';
    } catch {
      // Keep "unknown".
    }
    const notice = document.createElement('li');
    notice.className = 'notice';
    notice.textContent =
      typeof lost === 'number'
        ? `${lost} earlier ${lost === 1 ? 'message was' : 'messages were'} missed: no longer kept by the server.`
        : 'Some earlier messages were missed: no longer kept by the server.';
    const wasReading = wasReadingLatest();
    list.append(notice);
    arrived(0, false, wasReading);
  });

  // ---------- connection indicator ----------

  let everConnected = false;
  /** Whether the event stream is open right now, whatever the indicator says. */
  let streamOpen = false;
  let firstConnectDelayMs = 1000;

  function setStatus(state) {
    if (status.dataset.state === state) return;
    status.dataset.state = state;
    status.textContent = state;
  }

  list.addEventListener('htmx:sse:after:connection', () => {
    everConnected = true;
    streamOpen = true;
    setStatus(navigator.onLine ? 'live' : 'offline');
  });
  list.addEventListener('htmx:sse:before:connection', (event) => {
    const attempt = event.detail.connection?.attempt ?? 0;
    if (attempt === 0) return;
    streamOpen = false;
    setStatus(attempt > OFFLINE_AFTER_ATTEMPTS || !navigator.onLine ? 'offline' : 'reconnecting');
  });
  list.addEventListener('htmx:sse:error', () => {
    streamOpen = false;
    if (!navigator.onLine) setStatus('offline');
  });
  list.addEventListener('htmx:sse:close', () => {
    streamOpen = false;
    setStatus('offline');
  });
  window.addEventListener('offline', () => setStatus('offline'));
  // A short drop may leave the stream open (nothing to resume); otherwise the extension's next
  // attempt brings it back.
  window.addEventListener('online', () => setStatus(streamOpen ? 'live' : 'reconnecting'));

  /**
   * The extension only retries a stream it once opened. If the first request fails (node down,
   * 503), keep trying from here, and never swap an error body into the message list.
   */
  function firstConnectFailed() {
    if (everConnected) return;
    setStatus('offline');
    const url = list.getAttribute('hx-sse:connect');
    setTimeout(() => {
      if (!everConnected && url) htmx.ajax('GET', url, { source: list });
    }, firstConnectDelayMs);
    firstConnectDelayMs = Math.min(firstConnectDelayMs * 2, 10_000);
  }

  list.addEventListener('htmx:before:swap', (event) => {
    if (event.target !== list) return;
    const type = event.detail.ctx?.response?.headers?.get('content-type') ?? '';
    if (type.includes('text/event-stream')) return;
    event.preventDefault();
    firstConnectFailed();
  });
  list.addEventListener('htmx:error', (event) => {
    if (event.target === list) firstConnectFailed();
  });

  // ---------- the post form ----------

  const postForm = () => document.getElementById('post-form');
  const textBox = () => document.getElementById('text');
  const authorBox = () => document.getElementById('author');

  function restoreAuthor() {
    const input = authorBox();
    if (!input) return;
    if (!input.value) input.value = store.get(AUTHOR_KEY) ?? '';
    setMyName(input.value);
  }

  function showFormError(text) {
    const form = postForm();
    const box = textBox();
    if (!form || !box) return;
    let error = document.getElementById('post-error');
    if (!error) {
      error = document.createElement('p');
      error.id = 'post-error';
      error.className = 'error';
      error.setAttribute('role', 'alert');
      form.querySelector('.hint')?.before(error) ?? form.append(error);
    }
    error.textContent = text;
    box.setAttribute('aria-invalid', 'true');
    box.setAttribute('aria-describedby', 'post-error post-hint');
    box.focus();
  }

  // Enter sends, Shift+Enter is a new line. Delegated: htmx replaces the form after each post.
  document.addEventListener('keydown', (event) => {
    const box = event.target;
    if (!(box instanceof HTMLTextAreaElement) || box.id !== 'text' || event.key !== 'Enter') return;
    // An IME composing text uses Enter to pick a word, not to send.
    if (event.shiftKey || event.altKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    box.form?.requestSubmit();
  });

  document.addEventListener('change', (event) => {
    if (event.target === authorBox()) {
      store.set(AUTHOR_KEY, authorBox().value.trim());
      setMyName(authorBox().value);
    }
  });

  document.addEventListener('submit', (event) => {
    if (event.target !== postForm()) return;
    const name = authorBox()?.value.trim() ?? '';
    store.set(AUTHOR_KEY, name);
    setMyName(name);
  });

  // The text a post in flight carries: the person may go on typing while it travels.
  let sentText = null;

  document.addEventListener('htmx:before:request', (event) => {
    if (event.detail.ctx?.sourceElement?.id !== 'post-form') return;
    sentText = textBox()?.value ?? '';
    postForm()?.setAttribute('aria-busy', 'true');
  });

  document.addEventListener('htmx:finally:request', (event) => {
    if (event.detail.ctx?.sourceElement?.id !== 'post-form') return;
    sentText = null;
    // The form that sent it, if no answer replaced it (an error kept it).
    postForm()?.removeAttribute('aria-busy');
  });

  /** What the box keeps when the form comes back: all of it after an error, what is new after a post. */
  function textToKeep(status) {
    const current = textBox()?.value ?? '';
    // An error form carries the text the server read, or none (a body over the limit is not read).
    if (status >= 400) return current;
    if (sentText === null || current === sentText) return '';
    // Typed on after what was sent: only the rest is new. Changed otherwise: all of it is.
    return current.startsWith(sentText) ? current.slice(sentText.length).replace(/^\s+/, '') : current;
  }

  // Anything but the form fragment (a proxy's error page, a JSON error) must not replace the form:
  // keep the text and say what happened.
  document.addEventListener('htmx:before:swap', (event) => {
    const ctx = event.detail.ctx;
    if (ctx?.sourceElement?.id !== 'post-form') return;
    if (/^\s*<form id="post-form"/.test(ctx.text ?? '')) {
      // Into the new form before it is shown: htmx inserts it a settle delay before after:swap,
      // so filled in there the box would show blank for a moment (and drop what was typed then).
      const kept = textToKeep(ctx.response?.status ?? 0);
      for (const task of event.detail.tasks ?? []) {
        const box = task.fragment?.querySelector?.('#text');
        if (box) box.textContent = kept;
      }
      return;
    }
    event.preventDefault();
    showFormError(`Sending failed (${ctx.response?.status ?? 'no answer'}). Your message is kept; try again.`);
  });

  document.addEventListener('htmx:after:swap', (event) => {
    if (event.detail.ctx?.sourceElement?.id !== 'post-form') return;
    restoreAuthor();
    // Ready for the next message (or to fix this one): the new form's box gets the focus back.
    const box = textBox();
    if (!box) return;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  });

  document.addEventListener('htmx:error', (event) => {
    if (event.target !== postForm()) return;
    showFormError('Could not reach the server. Your message is kept; try again.');
  });

  // ---------- start ----------

  restoreAuthor();
  let newest = '';
  for (const item of list.querySelectorAll('li.msg')) {
    decorate(item);
    newest = item.dataset.id;
  }
  if (newest) rememberShown(newest);
  scrollToBottom();
})();
