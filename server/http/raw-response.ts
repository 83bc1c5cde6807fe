// Responses of the raw fast paths as the exact text Node's HTTP server and Express would send for
// the same request: status line, the route's headers, Content-Type, Content-Length, Date and the
// connection headers, in that order. Pure apart from the clock read for Date.
import { STATUS_CODES } from 'node:http';

export interface RawResponseOptions {
  status: number;
  /** Header lines the route adds before Content-Type, each ending in CRLF. */
  headerLines: string;
  /** The JSON body text. */
  json: string;
  /** Its length in UTF-8 where the caller knows it (messageJsonBytes); counted here otherwise. */
  jsonBytes?: number;
  keepAlive: boolean;
  /** The HTTP server's keepAliveTimeout, advertised as Node does (`Keep-Alive: timeout=5`). */
  keepAliveTimeoutMs: number;
}

export function renderJsonResponse(options: RawResponseOptions, now = Date.now()): string {
  const connection = options.keepAlive
    ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}\r\n`
    : 'Connection: close\r\n';
  return (
    `HTTP/1.1 ${options.status} ${STATUS_CODES[options.status] ?? 'Unknown'}\r\n` +
    options.headerLines +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${options.jsonBytes ?? Buffer.byteLength(options.json)}\r\n` +
    `Date: ${httpDate(now)}\r\n` +
    connection +
    '\r\n' +
    options.json
  );
}

/** How an answer leaves the connection, and the route's header lines before Content-Type. */
export type RawResponseFraming = Pick<RawResponseOptions, 'keepAlive' | 'keepAliveTimeoutMs'> & { headerLines?: string };

const CLOSING: RawResponseFraming = { keepAlive: false, keepAliveTimeoutMs: 0 };

/** A catalogue error (its status and `{"error":{...}}` body) as Express renders it; by default on
 * a connection that then closes. */
export function renderErrorResponse(error: { status: number; toJSON(): unknown }, framing: RawResponseFraming = CLOSING): string {
  return renderJsonResponse({ ...framing, status: error.status, headerLines: framing.headerLines ?? '', json: JSON.stringify(error.toJSON()) });
}

// Node formats Date once a second too; toUTCString per response would cost more than the rest
// of the head.
let dateSecond = -1;
let dateText = '';

export function httpDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}
