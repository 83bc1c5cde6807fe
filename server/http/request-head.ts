// Parses the head of an HTTP/1.x request from raw bytes: enough for the fast paths to recognise
// their requests (`GET /streams/:stream/events`, `POST /streams/:stream/messages`) and read what
// they need. Pure; anything unusual is reported as `other` so the full HTTP server handles it.

export interface RequestHead {
  method: string;
  /** '1.0' or '1.1': decides whether the connection stays open by default. */
  version: '1.0' | '1.1';
  path: string;
  query: URLSearchParams;
  /** Lower-cased names; a repeated header makes the head `other`. */
  headers: Map<string, string>;
}

export type HeadResult =
  | { kind: 'head'; head: RequestHead; length: number }
  | { kind: 'incomplete' }
  | { kind: 'other' };

// Every header line at once: a token, a colon, then a value without the control characters
// Node's parser rejects (tab is allowed). A head that fails is left to the HTTP server, which
// gives it Node's own 400. One pass over the block instead of two tests per header.
const HEADER_LINES = /(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\x00-\x08\x0a-\x1f\x7f]*\r\n)*$/y;
// A target of visible ASCII only: anything else (control characters, raw UTF-8) is Node's to judge.
const REQUEST_LINE = /^([A-Z]+) (\/[\x21-\x7e]*) HTTP\/1\.([01])$/;

/** Without the spaces and tabs around it (RFC 9110's OWS); not String#trim, which strips more. */
function trimOws(text: string, start: number, end: number): string {
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09)) end--;
  return text.slice(start, end);
}

/** Shared by every head without a query string; the fast paths only read it. */
const NO_QUERY: URLSearchParams = new URLSearchParams();

export function parseRequestHead(data: Buffer, maxHeadBytes: number): HeadResult {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return data.length >= maxHeadBytes ? { kind: 'other' } : { kind: 'incomplete' };
  if (end > maxHeadBytes) return { kind: 'other' };
  // Through the last header line's CRLF, so that every line ends in one.
  const text = data.toString('latin1', 0, end + 2);
  const lineEnd = text.indexOf('\r\n');
  const requestLine = REQUEST_LINE.exec(text.slice(0, lineEnd));
  if (!requestLine) return { kind: 'other' };
  HEADER_LINES.lastIndex = lineEnd + 2;
  if (!HEADER_LINES.test(text)) return { kind: 'other' };
  const headers = new Map<string, string>();
  for (let start = lineEnd + 2; start < text.length; ) {
    const colon = text.indexOf(':', start);
    const next = text.indexOf('\r\n', colon);
    const name = text.slice(start, colon).toLowerCase();
    if (headers.has(name)) return { kind: 'other' };
    headers.set(name, trimOws(text, colon + 1, next));
    start = next + 2;
  }
  const target = requestLine[2]!;
  const mark = target.indexOf('?');
  let path = mark < 0 ? target : target.slice(0, mark);
  // Most paths have nothing to decode; decodeURIComponent is one of the costlier steps per post.
  if (path.includes('%')) {
    try {
      path = decodeURIComponent(path);
    } catch {
      return { kind: 'other' };
    }
  }
  return {
    kind: 'head',
    head: { method: requestLine[1]!, version: requestLine[3] === '0' ? '1.0' : '1.1', path, query: mark < 0 ? NO_QUERY : new URLSearchParams(target.slice(mark + 1)), headers },
    length: end + 4,
  };
}
