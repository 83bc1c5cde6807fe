// A message's JSON text, made once for every place that sends it in the same turn: a post's
// frame to the stream's viewers and its 201 to the poster carry the same text.
import type { Message } from './broker.js';
import { msText } from './ids.js';
import { rememberLast } from './remember-last.js';

interface Serialized {
  text: string;
  /** The text's length in UTF-8. */
  bytes: number;
}

const serialized: (message: Message) => Serialized = rememberLast(serialize);

/** JSON.stringify(message), remembered for the most recent message (messages are never changed). */
export function messageJson(message: Message): string {
  return serialized(message).text;
}

/**
 * Buffer.byteLength(messageJson(message)), counted as the text is made: a post's Content-Length.
 * Buffer.byteLength first flattened the text, which is made of many parts, then counted it
 * (1,900 instructions per post, callgrind); the answer's write flattens it all the same, so the
 * saving is about 700.
 */
export function messageJsonBytes(message: Message): number {
  return serialized(message).bytes;
}

// Every broker makes its messages with these keys in this order, so the text below is exactly
// JSON.stringify's. Built by parts because JSON.stringify walks the object and scans every string
// for characters to escape, and turns `ts`, past 2^31, into digits the slow way: 8,200 of the
// 76,000 instructions a node spent per post in bench rooms (callgrind). The node and region
// repeat on every message a node posts, and the id's digits are the timestamp's, so only the
// author and text are looked at per message (quoted()).

const nodeJson = rememberLast(jsonValue);
const regionJson = rememberLast(jsonValue);

/** The keys and punctuation of the text serialize() makes, without the values. */
const SKELETON_BYTES = '{"id":"","stream":,"author":,"text":,"ts":,"node":,"region":}'.length;

function serialize(message: Message): Serialized {
  const { id, stream, author, text, ts, node, region } = message;
  const tsText = msText(ts);
  // Anything else (a hand-made message in a test, say) goes the long way, to the same text; so
  // does a ts JSON writes as null.
  if (!Number.isFinite(ts) || !isPlainId(id, tsText)) return jsonValue(message);
  const streamJson = isPlainName(stream) ? { text: `"${stream}"`, bytes: stream.length + 2 } : jsonValue(stream);
  const authorJson = quoted(author);
  const textJson = quoted(text);
  const nodeText = nodeJson(node);
  const regionText = regionJson(region);
  return {
    text: `{"id":"${id}","stream":${streamJson.text},"author":${authorJson.text},"text":${textJson.text},"ts":${tsText},"node":${nodeText.text},"region":${regionText.text}}`,
    // The id and ts are ASCII digits and a dash.
    bytes: SKELETON_BYTES + id.length + streamJson.bytes + authorJson.bytes + textJson.bytes + tsText.length + nodeText.bytes + regionText.bytes,
  };
}

function jsonValue(value: unknown): Serialized {
  const text = JSON.stringify(value);
  return { text, bytes: Buffer.byteLength(text) };
}

/**
 * JSON.stringify(text): the text between quotes where it has nothing JSON escapes (a quote, a
 * backslash, a control character, half of a surrogate pair), as most chat text has not: the scan
 * costs less than the call into C++ (bench:instructions: about 850 fewer per post for the two),
 * and counts the UTF-8 bytes on the way.
 */
function quoted(text: string): Serialized {
  let bytes = text.length + 2;
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return jsonValue(text);
    // One byte for ASCII, two up to U+07FF, three for the rest of the BMP (no surrogates here).
    if (code >= 0x80) bytes += code >= 0x800 ? 2 : 1;
  }
  return { text: `"${text}"`, bytes };
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
