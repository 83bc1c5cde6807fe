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
  maxAuthorChars: number;
  maxTextChars: number;
}

export function renderPostForm(view: PostFormView): SafeHtml {
  const action = `/streams/${encodeURIComponent(view.stream)}/messages`;
  return html`<form id="post-form" class="post" method="post" action="${action}" hx-post="${action}" hx-swap="outerHTML">
<div class="fields">
<label for="author">Name</label>
<input id="author" name="author" required maxlength="${view.maxAuthorChars}" autocomplete="nickname" value="${view.author ?? ''}">
<label for="text">Message</label>
<textarea id="text" name="text" required maxlength="${view.maxTextChars}" rows="2" placeholder="Write a message. Enter sends, Shift+Enter adds a line."${view.error ? html` aria-invalid="true" aria-describedby="post-error"` : ''}>${view.text ?? ''}</textarea>
</div>
<button type="submit">Send</button>
${view.error ? html`<p id="post-error" class="error" role="alert">${view.error}</p>` : ''}
</form>`;
}

export interface StreamPageView {
  stream: string;
  messages: Message[];
  /** The id the live connection resumes after: the last rendered message, or 0 for all. */
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
    html`<div class="chat" data-stream="${view.stream}">
<header class="bar">
<a class="home" href="/" aria-label="All streams">sse-chat</a>
<h1>${view.stream}</h1>
<span id="status" class="status" data-state="connecting" role="status" aria-live="polite">connecting</span>
</header>
<main class="log" id="log" tabindex="-1">
${view.gap ? html`<p class="notice">Some older messages are no longer kept; showing what is retained.</p>` : ''}
<ol id="messages" class="messages" aria-label="Messages" hx-sse:connect="${events}" hx-swap="beforeend">${view.messages.map(renderMessage)}</ol>
</main>
<button id="new-messages" class="new-messages" type="button" hidden>New messages ↓</button>
${renderPostForm(view.form)}
<footer class="node">node ${view.node} · region ${view.region}</footer>
</div>`,
    { sse: true },
  );
}
