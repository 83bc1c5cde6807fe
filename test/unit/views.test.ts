import assert from 'node:assert/strict';
import { escapeHtml, html, SafeHtml } from '../../server/views/html.js';
import { renderMessage } from '../../server/views/message.js';

describe('HTML escaping', () => {
  it('escapes the five HTML-significant characters', () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('escapes every interpolation except nested html', () => {
    const inner = html`<b>${'<i>'}</b>`;
    assert.ok(inner instanceof SafeHtml);
    assert.equal(html`<p title="${'"quoted"'}">${inner}${['<x>', html`<y/>`]}${null}${undefined}${false}${0}</p>`.value,
      '<p title="&quot;quoted&quot;"><b>&lt;i&gt;</b>&lt;x&gt;<y/>0</p>');
  });

  it('renders a message with author and text as text, never markup', () => {
    const fragment = renderMessage({
      id: '1-0', stream: 's', author: '"><svg onload=alert(1)>', text: '<img src=x onerror=alert(1)> https://example.com',
      ts: Date.UTC(2026, 0, 2, 3, 4), node: 'n', region: 'r',
    }).value;
    assert.ok(!/<svg|<img/.test(fragment));
    assert.ok(!/<a /.test(fragment), 'links are not made live');
    assert.match(fragment, /data-author="&quot;&gt;&lt;svg onload=alert\(1\)&gt;"/);
    assert.match(fragment, /<time datetime="2026-01-02T03:04:00.000Z">03:04<\/time>/);
  });
});
