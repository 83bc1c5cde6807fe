// SSE wire format: pure functions from events to the exact bytes a viewer receives. Everything
// that knows SSE syntax lives here and in connection.ts.

/** Response headers of every event stream; frozen so no route can drift from them. */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream; charset=utf-8',
  // no-transform: proxies must not compress or buffer the stream.
  'Cache-Control': 'no-cache, no-transform',
  // nginx: pass each write through instead of buffering the response.
  'X-Accel-Buffering': 'no',
});

const SSE_HEADER_LINES = Object.entries(SSE_HEADERS)
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join('');

/**
 * The same response head as Node's HTTP server sends it, as raw text, for streams the fast path
 * serves without Node's HTTP objects. `Connection: close` because the body is delimited by the end
 * of the connection.
 */
export function rawResponseHead(httpDate: string): string {
  return `HTTP/1.1 200 OK\r\n${SSE_HEADER_LINES}Date: ${httpDate}\r\nConnection: close\r\n\r\n`;
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Ids and event names go on one line: CR/LF would let a value inject fields of its own. */
function singleLine(value: string): string {
  // Three scans of a short id cost less than a regular expression, and they usually find nothing.
  if (value.indexOf('\n') < 0 && value.indexOf('\r') < 0 && value.indexOf('\0') < 0) return value;
  return value.replace(/[\r\n\0]/g, '');
}

const LINE_BREAK = /[\r\n]/;

export function encodeEvent(event: SseEvent): Buffer {
  let text = '';
  if (event.id !== undefined) text += `id: ${singleLine(event.id)}\n`;
  if (event.event !== undefined) text += `event: ${singleLine(event.event)}\n`;
  // A data value spanning lines is sent as one `data:` line each; the client joins them with \n.
  if (!LINE_BREAK.test(event.data)) text += `data: ${event.data}\n`;
  else for (const line of event.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return Buffer.from(`${text}\n`, 'utf8');
}

/**
 * encodeEvent({ id, data: json }) for data that JSON.stringify made: it escapes every control
 * character, so the text is one line and the search for line breaks, a scan of the whole message
 * per post, is skipped.
 */
export function encodeJsonEvent(id: string, json: string): Buffer {
  return Buffer.from(`id: ${singleLine(id)}\ndata: ${json}\n\n`, 'utf8');
}

/** The first bytes of every stream: the reconnect delay, and a comment that flushes proxies. */
export function encodePreamble(retryMs: number): Buffer {
  return Buffer.from(`retry: ${Math.round(retryMs)}\n: connected\n\n`, 'utf8');
}

/** A comment line: ignored by clients, keeps proxies from timing out and reveals dead peers. */
export const HEARTBEAT_FRAME: Buffer = Buffer.from(':\n\n', 'utf8');

/** Told before the retained history when the viewer's last id is older than what is retained. */
export function encodeReset(lost: number | 'unknown'): Buffer {
  return encodeEvent({ event: 'reset', data: JSON.stringify({ lost }) });
}
