// A message's JSON text, made once for every place that sends it in the same turn: a post's
// frame to the stream's viewers and its 201 to the poster carry the same text.
import type { Message } from './broker.js';
import { msText } from './ids.js';
import { rememberLast } from './remember-last.js';

/** JSON.stringify(message), remembered for the most recent message (messages are never changed). */
export const messageJson: (message: Message) => string = rememberLast(serialize);

// Every broker makes its messages with these keys in this order, so the text below is exactly
// JSON.stringify's. Built by parts because JSON.stringify walks the object and scans every string
// for characters to escape, and turns `ts`, past 2^31, into digits the slow way: 8,200 of the
// 76,000 instructions a node spent per post in bench rooms (callgrind). The node and region
// repeat on every message a node posts, and the id's digits are the timestamp's, so only the
// author and text are looked at per message (quoted()).

const nodeJson = rememberLast(JSON.stringify);
const regionJson = rememberLast(JSON.stringify);

function serialize(message: Message): string {
  const { id, stream, author, text, ts, node, region } = message;
  const tsText = msText(ts);
  // Anything else (a hand-made message in a test, say) goes the long way, to the same text; so
  // does a ts JSON writes as null.
  if (!Number.isFinite(ts) || !isPlainId(id, tsText)) return JSON.stringify(message);
  return `{"id":"${id}","stream":${isPlainName(stream) ? `"${stream}"` : JSON.stringify(stream)},"author":${quoted(author)},"text":${quoted(text)},"ts":${tsText},"node":${nodeJson(node)},"region":${regionJson(region)}}`;
}

/**
 * JSON.stringify(text): the text between quotes where it has nothing JSON escapes (a quote, a
 * backslash, a control character, half of a surrogate pair), as most chat text has not: the scan
 * costs less than the call into C++ (bench:instructions: about 850 fewer per post for the two).
 */
function quoted(text: string): string {
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/** `<ts>-<seq>`, as every broker makes its ids: nothing in it to escape. */
function isPlainId(id: string, tsText: string): boolean {
  const dash = tsText.length;
  if (id.length <= dash + 1 || !id.startsWith(tsText) || id.charCodeAt(dash) !== 0x2d) return false;
  for (let at = dash + 1; at < id.length; at++) {
    const code = id.charCodeAt(at);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/** A stream name as STREAM_NAME allows them (letters, digits, `_`, `.`, `-`): nothing to escape. */
function isPlainName(name: string): boolean {
  for (let at = 0; at < name.length; at++) {
    const code = name.charCodeAt(at);
    const plain = (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f || code === 0x2e || code === 0x2d;
    if (!plain) return false;
  }
  return true;
}
