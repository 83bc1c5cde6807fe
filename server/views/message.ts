// One chat message as the `<li>` the page renders and the SSE html format sends. The same
// markup serves both, so history and live messages look identical.
import type { Message } from '../broker/broker.js';
import { html, type SafeHtml } from './html.js';

export function renderMessage(message: Message): SafeHtml {
  const when = new Date(message.ts);
  // Encoded once for every viewer, so it cannot know the viewer's time zone: the page's script
  // turns this UTC time into local time and drops the "UTC" label (which stays with JS off).
  const utc = when.toISOString().slice(11, 16);
  return html`<li class="msg" id="m-${message.id}" data-id="${message.id}" data-author="${message.author}"><div class="msg-meta"><span class="msg-author">${message.author}</span> <time datetime="${when.toISOString()}">${utc}</time><span class="msg-tz"> UTC</span></div><p class="msg-text">${message.text}</p></li>`;
}
