// Parses the head of an HTTP/1.x request from raw bytes: enough for the fast paths to recognise
// their requests (`GET /streams/:stream/events`, `POST /streams/:stream/messages`) and read what
// they need. Pure; anything unusual is reported as `other` so the full HTTP server handles it.
// Where the native part is built, the head is first scanned in C (native/http-head.c), which finds
// the same offsets as the parser below and leaves it every head it does not take plainly.
import { loadHeadScanner, type HeadScanner } from '../native/http-head.js';

export interface RequestHead {
  method: string;
  /** '1.0' or '1.1': decides whether the connection stays open by default. */
  version: '1.0' | '1.1';
  /** As sent, still percent-encoded: a route matches it as Express does, then decodes its params. */
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

// Node's HTTP server keeps the first 1,000 headers (maxHeadersCount) and Express's query parser
// the first 1,000 parameters; past either, what a route would read differs between the two.
const MAX_HEADERS = 1000;
const MAX_QUERY_PARAMETERS = 1000;

const CR = 0x0d;
const LF = 0x0a;

/**
 * Whether bytes without the head's end yet can still become a head this parser takes. A line
 * ending in a bare LF, or a first line that is no request line (TLS, a stray protocol), is Node's
 * to answer at once with its 400: waiting would hold the client until the head deadline.
 */
function mayBecomeHead(data: Buffer): boolean {
  if (data.length > 0 && (data[0]! < 0x41 || data[0]! > 0x5a)) return false;
  for (let lf = data.indexOf(LF); lf >= 0; lf = data.indexOf(LF, lf + 1)) {
    if (lf === 0 || data[lf - 1] !== CR) return false;
  }
  const firstLineEnd = data.indexOf('\r\n');
  return firstLineEnd < 0 || REQUEST_LINE.test(data.toString('latin1', 0, firstLineEnd));
}

function queryParameterCount(query: string): number {
  let count = 1;
  for (let amp = query.indexOf('&'); amp >= 0; amp = query.indexOf('&', amp + 1)) count++;
  return count;
}

// The head's end is looked for in a latin1 copy of the first bytes, which the parse needs anyway:
// Buffer#indexOf with a string, its JavaScript checks and the needle's conversion on every
// request, cost 2,100 instructions per post (callgrind), a string's indexOf a tenth of that.
const SCAN_BYTES = 4096;

const nativeScanner = loadHeadScanner();

// The scan's offsets (http-head.c): the head's end, the method's end, the target's end and the
// minor version, then five a header line (name start and end, value start and end, a tab in it).
const HEAD_FIELDS = 4;
const FIELDS_PER_HEADER = 5;
/** Heads with more header lines than this are parsed in JavaScript. */
const SCANNED_HEADERS = 64;
const offsets = new Int32Array(HEAD_FIELDS + FIELDS_PER_HEADER * SCANNED_HEADERS);

/** @param scanner the C scan (null: JavaScript only); tests pass each to compare them */
export function parseRequestHead(data: Buffer, maxHeadBytes: number, scanner: HeadScanner | null = nativeScanner): HeadResult {
  const count = scanner === null ? -1 : scanner.scanHead(data, offsets, maxHeadBytes);
  return count < 0 ? parseInJavaScript(data, maxHeadBytes) : headFromOffsets(data, count);
}

function headFromOffsets(data: Buffer, count: number): HeadResult {
  const end = offsets[0]!;
  const text = data.toString('latin1', 0, end);
  // At most SCANNED_HEADERS, far below MAX_HEADERS.
  const headers = new Map<string, string>();
  for (let at = HEAD_FIELDS; at < HEAD_FIELDS + count * FIELDS_PER_HEADER; at += FIELDS_PER_HEADER) {
    const name = text.slice(offsets[at]!, offsets[at + 1]!).toLowerCase();
    if (headers.has(name)) return { kind: 'other' };
    // As below: a tab in Connection's value.
    if (offsets[at + 4] === 1 && name === 'connection') return { kind: 'other' };
    headers.set(name, text.slice(offsets[at + 2]!, offsets[at + 3]!));
  }
  const methodEnd = offsets[1]!;
  return headResult(text.slice(0, methodEnd), text.slice(methodEnd + 1, offsets[2]!), offsets[3] === 0 ? '1.0' : '1.1', headers, end);
}

function parseInJavaScript(data: Buffer, maxHeadBytes: number): HeadResult {
  const scanned = data.toString('latin1', 0, Math.min(data.length, SCAN_BYTES));
  let end = scanned.indexOf('\r\n\r\n');
  if (end < 0 && data.length > SCAN_BYTES) end = data.indexOf('\r\n\r\n');
  if (end < 0) return data.length >= maxHeadBytes || !mayBecomeHead(data) ? { kind: 'other' } : { kind: 'incomplete' };
  if (end > maxHeadBytes) return { kind: 'other' };
  // Through the last header line's CRLF, so that every line ends in one.
  const text = end + 2 <= scanned.length ? scanned.slice(0, end + 2) : data.toString('latin1', 0, end + 2);
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
    if (headers.has(name) || headers.size === MAX_HEADERS) return { kind: 'other' };
    // Node's parser reads Connection's tokens strictly: to it `close\t` is no close at all.
    if (name === 'connection' && text.lastIndexOf('\t', next) > colon) return { kind: 'other' };
    headers.set(name, trimOws(text, colon + 1, next));
    start = next + 2;
  }
  return headResult(requestLine[1]!, requestLine[2]!, requestLine[3] === '0' ? '1.0' : '1.1', headers, end);
}

/** The head ending at `end` (its CRLF CRLF), with the target split into path and query. */
function headResult(method: string, target: string, version: RequestHead['version'], headers: Map<string, string>, end: number): HeadResult {
  const mark = target.indexOf('?');
  const path = mark < 0 ? target : target.slice(0, mark);
  const queryText = mark < 0 ? '' : target.slice(mark + 1);
  if (queryText.length >= MAX_QUERY_PARAMETERS && queryParameterCount(queryText) > MAX_QUERY_PARAMETERS) return { kind: 'other' };
  return {
    kind: 'head',
    head: { method, version, path, query: mark < 0 ? NO_QUERY : new URLSearchParams(queryText), headers },
    length: end + 4,
  };
}

/**
 * A route parameter as Express gives it: percent-decoded, or null where Express's router fails
 * to decode it (it answers 400). Most have nothing to decode, and decoding is costly per post.
 */
export function decodeParam(raw: string): string | null {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}
