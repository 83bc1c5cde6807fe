// How sse-chat's data sits in Redis and comes off the wire: the keys of a stream (one hash tag,
// so one shard), and decoding of log entries and pub/sub payloads. Pure functions; whatever cannot
// be read is dropped here (returns null), never thrown at the subscriber.
import type { Message } from './broker.js';
import { formatId, parseId } from './ids.js';

export interface StreamKeys {
  log: string;
  trimmed: string;
  channel: string;
}

/** Key and channel share the hash tag, so one shard holds both and the publish script is atomic. */
export function streamKeys(stream: string): StreamKeys {
  // Encoded so a `{` or `}` in a stream name cannot change which part is hashed.
  const tag = `{${encodeURIComponent(stream)}}`;
  return { log: `sse:${tag}:log`, trimmed: `sse:${tag}:trimmed`, channel: `sse:${tag}:live` };
}

/** A log entry as XRANGE returns it. */
export type RawEntry = [id: string, fields: string[]];

/** A message as it arrived on a shard channel, with the id of the entry before it in the log. */
export interface LiveMessage {
  message: Message;
  previousId: string;
}

interface Body {
  author: string;
  text: string;
  node: string;
  region: string;
}

function decodeBody(text: string): Body | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return null;
    const { author, text: messageText, node, region } = value as Record<string, unknown>;
    if (typeof author !== 'string' || typeof messageText !== 'string' || typeof node !== 'string' || typeof region !== 'string') {
      return null;
    }
    return { author, text: messageText, node, region };
  } catch {
    return null;
  }
}

function toMessage(stream: string, id: string, body: Body): Message | null {
  const parsed = parseId(id);
  if (!parsed) return null;
  return { id: formatId(parsed), stream, author: body.author, text: body.text, ts: parsed.ms, node: body.node, region: body.region };
}

export function decodeEntry(stream: string, id: string, fields: string[]): Message | null {
  const at = fields.indexOf('m');
  const body = at >= 0 && at % 2 === 0 ? decodeBody(fields[at + 1] ?? '') : null;
  return body && toMessage(stream, id, body);
}

/** `v1\n<id>\n<previous id or empty>\n<body JSON>`, as publish.lua writes it. */
export function decodeLive(stream: string, payload: string): LiveMessage | null {
  const parts = payload.split('\n');
  if (parts.length < 4 || parts[0] !== 'v1') return null;
  const [, id = '', previousId = ''] = parts;
  if (previousId !== '' && !parseId(previousId)) return null;
  const body = decodeBody(parts.slice(3).join('\n'));
  const message = body && toMessage(stream, id, body);
  return message ? { message, previousId } : null;
}
