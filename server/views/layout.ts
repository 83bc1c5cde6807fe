// The HTML document around every page: head, assets served from this node (no CDN), body.
import { html, type SafeHtml } from './html.js';

export function layout(title: string, body: SafeHtml, options: { sse?: boolean } = {}): string {
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, interactive-widget=resizes-content">
<meta name="color-scheme" content="light dark">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/chat.css">
<noscript><style>.status{display:none}</style></noscript>
<script src="/vendor/htmx.min.js"></script>
${options.sse ? html`<script src="/vendor/ext/hx-sse.js"></script>` : ''}
<script src="/static/chat.js" defer></script>
</head>
<body>
${body}
</body>
</html>
`.value}`;
}
