// One chat message as the `<li>` the page renders and the SSE html format sends. The same
// markup serves both, so history and live messages look identical.
import type { Message } from '../broker/broker.js';
import { html, type SafeHtml } from './html.js';

export function renderMessage(message: Message): SafeHtml {
  const when = new Date(message.ts);
  // The page's script turns this UTC time into the viewer's local time.
  const utc = when.toISOString().slice(11, 16);
  return html`<li class="msg" id="m-${message.id}" data-id="${message.id}" data-author="${message.author}"><span class="msg-author">${message.author}</span> <time datetime="${when.toISOString()}">${utc}</time><p class="msg-text">${message.text}</p></li>`;
}
