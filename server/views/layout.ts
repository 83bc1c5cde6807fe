// The HTML document around every page: head, assets served from this node (no CDN), body.
import { html, type SafeHtml } from './html.js';

export function layout(title: string, body: SafeHtml, options: { sse?: boolean } = {}): string {
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/static/chat.css">
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
