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

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Control characters Node's parser rejects in a header value (tab is allowed): such a request is
// left to the HTTP server so it gets Node's own 400.
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Shared by every head without a query string; the fast paths only read it. */
const NO_QUERY: URLSearchParams = new URLSearchParams();

export function parseRequestHead(data: Buffer, maxHeadBytes: number): HeadResult {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return data.length >= maxHeadBytes ? { kind: 'other' } : { kind: 'incomplete' };
  if (end > maxHeadBytes) return { kind: 'other' };
  const lines = data.toString('latin1', 0, end).split('\r\n');
  const requestLine = /^([A-Z]+) (\/[^ ]*) HTTP\/1\.([01])$/.exec(lines[0]!);
  if (!requestLine) return { kind: 'other' };
  const headers = new Map<string, string>();
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return { kind: 'other' };
    const name = line.slice(0, colon).toLowerCase();
    if (!TOKEN.test(name) || headers.has(name)) return { kind: 'other' };
    const value = line.slice(colon + 1).trim();
    if (BAD_VALUE.test(value)) return { kind: 'other' };
    headers.set(name, value);
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
