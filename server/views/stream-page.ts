// The chat page of one stream: server-rendered history, the live list fed by SSE (hx-sse), and
// the post form. The form is its own fragment because an htmx post swaps it back in.
import type { Message } from '../broker/broker.js';
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';
import { renderMessage } from './message.js';

export interface PostFormView {
  stream: string;
  author?: string;
  text?: string;
  error?: string;
}

export function renderPostForm(view: PostFormView): SafeHtml {
  const action = `/streams/${encodeURIComponent(view.stream)}/messages`;
  const describedBy = view.error ? 'post-error post-hint' : 'post-hint';
  // hx-sync drop: a second Enter while a post is in flight must not send the text twice; the Send
  // button is disabled meanwhile (hx-disable), so the form shows why nothing happens.
  // No maxlength on the fields: the browser would cut pasted text at the limit without a word
  // and send the rest; the server's error says the text is too long, and keeps all of it.
  return html`<form id="post-form" class="post" method="post" action="${action}" hx-post="${action}" hx-swap="outerHTML" hx-sync="this:drop" hx-disable="find .send">
<div class="field field-author">
<label for="author">Name</label>
<input id="author" name="author" required autocomplete="nickname" autocapitalize="off" spellcheck="false" value="${view.author ?? ''}">
</div>
<div class="field field-text">
<label for="text">Message</label>
<textarea id="text" name="text" required rows="1" enterkeyhint="send" placeholder="Write a message" aria-describedby="${describedBy}"${view.error ? html` aria-invalid="true"` : ''}>${view.text ?? ''}</textarea>
</div>
<button type="submit" class="send">Send</button>
${view.error ? html`<p id="post-error" class="error" role="alert">${view.error}</p>` : ''}
<p id="post-hint" class="hint">Enter sends, Shift+Enter adds a line.</p>
</form>`;
}

export interface StreamPageView {
  stream: string;
  messages: Message[];
  /** The id the live connection resumes after: the last rendered message, or where the stream was. */
  resumeAfter: string;
  /** The page was asked to resume from an id older than the retained history. */
  gap: boolean;
  form: PostFormView;
  node: string;
  region: string;
}

export function renderStreamPage(view: StreamPageView): string {
  const events = `/streams/${encodeURIComponent(view.stream)}/events?format=html&lastEventId=${encodeURIComponent(view.resumeAfter)}`;
  return layout(
    `${view.stream} · sse-chat`,
    html`<div class="chat" data-stream="${view.stream}" data-resume-after="${view.resumeAfter}">
<header class="bar">
<a class="home" href="/" aria-label="All streams">sse-chat</a>
<h1>${view.stream}</h1>
<span id="status" class="status" data-state="connecting" role="status" aria-live="polite">connecting</span>
</header>
<main class="log" id="log" tabindex="0" aria-label="Messages in ${view.stream}">
<noscript><p class="notice">Live updates need JavaScript: reload the page to see new messages.</p></noscript>
${view.gap ? html`<p class="notice">Some older messages are no longer kept; showing what is retained.</p>` : ''}
<ol id="messages" class="messages" aria-label="Messages" aria-live="polite" aria-relevant="additions" hx-sse:connect="${events}" hx-swap="beforeend">${view.messages.map(renderMessage)}</ol>
${view.messages.length ? '' : html`<p class="empty">No messages yet. Say hello.</p>`}
</main>
<div class="composer">
<button id="new-messages" class="new-messages" type="button" hidden>New messages ↓</button>
${renderPostForm(view.form)}
</div>
<footer class="node">node ${view.node} · region ${view.region}</footer>
</div>`,
    { sse: true },
  );
}
