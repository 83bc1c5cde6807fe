// The landing page: join a stream by name, and the streams active on this node.
import { html } from './html.js';
import { layout } from './layout.js';

export interface LandingView {
  active: { stream: string; viewers: number }[];
  node: string;
  region: string;
  error?: string;
  name?: string;
}

export function renderLanding(view: LandingView): string {
  const streams = view.active.length
    ? html`<ul class="stream-list">${view.active.map(
        ({ stream, viewers }) =>
          html`<li><a href="/streams/${encodeURIComponent(stream)}"><span class="stream-name">${stream}</span> <span class="viewers">${viewers} ${viewers === 1 ? 'viewer' : 'viewers'}</span></a></li>`,
      )}</ul>`
    : html`<p class="empty">No stream has viewers on this node right now. Start one.</p>`;
  return layout(
    'sse-chat',
    html`<main class="landing">
<h1>sse-chat</h1>
<p class="tagline">Live chat rooms over Server-Sent Events. Pick a name, share the link.</p>
<form class="join" method="get" action="/join">
<label for="join-name">Stream name</label>
<div class="row">
<input id="join-name" name="stream" required maxlength="64" pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}" value="${view.name ?? ''}" placeholder="general" autocomplete="off" autocapitalize="off" spellcheck="false" aria-describedby="join-hint${view.error ? ' join-error' : ''}"${view.error ? html` aria-invalid="true"` : ''}>
<button type="submit">Join</button>
</div>
<p id="join-hint" class="hint">Letters, digits and <code>_</code> <code>.</code> <code>-</code>, up to 64 characters.</p>
${view.error ? html`<p id="join-error" class="error" role="alert">${view.error}</p>` : ''}
</form>
<section aria-labelledby="active-title">
<h2 id="active-title">Active streams</h2>
${streams}
</section>
<footer>node ${view.node} · region ${view.region}</footer>
</main>`,
  );
}
