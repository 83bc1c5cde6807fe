// The native post lane's reading of a request (post-lane.c) against the JavaScript path's: for
// every request the lane takes, the JavaScript path must take it too and publish the same message
// (stream, author, text) with the same keep-alive and length; anything else the lane leaves to the
// JavaScript path. Compared on hand-picked requests and on random mutations of plain ones.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import type { Message } from '../../server/broker/broker.js';
import { MemoryBroker } from '../../server/broker/memory.js';
import { messageJson } from '../../server/broker/message-json.js';
import { renderJsonResponse } from '../../server/http/raw-response.js';
import { encodeMessage } from '../../server/hub.js';
import { loadConfig } from '../../server/config.js';
import { parseRequestHead } from '../../server/http/request-head.js';
import { loadPostLane, type PostLaneCalls } from '../../server/native/post-lane.js';
import { messagesFastPath } from '../../server/routes/messages-fast-path.js';
import type { AppContext } from '../../server/routes/context.js';
import { messageBodyLimit } from '../../server/validation.js';

type Reading = [stream: string, author: string, text: string, keepAlive: boolean, length: number] | null;

const config = loadConfig({ MAX_AUTHOR_CHARS: '8', MAX_TEXT_CHARS: '12' });
const limits = { bodyBytes: messageBodyLimit(config, 'json'), authorChars: config.maxAuthorChars, textChars: config.maxTextChars };

/** What the JavaScript path makes of a request at the start of `bytes`: the router's checks, the
 * fast path's, then a real publish to the in-memory broker, read back. */
async function javascriptReading(bytes: Buffer): Promise<Reading> {
  return (await javascriptPost(bytes))?.reading ?? null;
}

/** The fast path's 201 for a message (messages-fast-path.ts), its Date that of the message's time. */
function createdAnswer(message: Message, keepAliveTimeoutMs: number): Buffer {
  const headerLines = `Location: /streams/${message.stream}/messages?after=${message.id}\r\n`;
  return Buffer.from(renderJsonResponse({ status: 201, headerLines, json: messageJson(message), keepAlive: true, keepAliveTimeoutMs }, message.ts), 'utf8');
}

// A node and region whose JSON has escapes, as an operator may name them.
const NODE = 'node "1"';
const REGION = 'eu\\west\u2028';

async function javascriptPost(bytes: Buffer): Promise<{ reading: NonNullable<Reading>; message: Message } | null> {
  const broker = new MemoryBroker({ historySize: 10, historyMaxAgeMs: 0, nodeId: NODE, region: REGION });
  const context = { config, broker, postRateLimit: null, isShuttingDown: () => false, logger: pino({ level: 'silent' }) } as unknown as AppContext;
  const result = parseRequestHead(bytes, 16 * 1024);
  if (result.kind !== 'head') return null;
  const { head, length } = result;
  // connection-router.ts's checks before a fast path is asked.
  const connection = head.headers.get('connection')?.toLowerCase() ?? '';
  if (connection.includes('upgrade') || (head.version === '1.0' && connection.includes('keep-alive')) || (head.version === '1.1' && !head.headers.has('host'))) return null;
  const keepAlive = head.version === '1.1' && !/(?:^|,)\s*close\s*(?:,|$)/.test(connection);
  const request = messagesFastPath(context, 5000)({} as Socket, head);
  if (!request || bytes.length < length + request.bodyBytes) return null;
  const answer = request.answer(bytes.subarray(length, length + request.bodyBytes), keepAlive);
  if (answer === null) return null;
  assert.match(await answer, /^HTTP\/1\.1 201 Created\r\n/);
  const stream = decodeURIComponent(head.path.split('/')[2]!);
  const [message] = (await broker.recent(stream, 1)).messages;
  return { reading: [message!.stream, message!.author, message!.text, keepAlive, length + request.bodyBytes], message: message! };
}

function post(body: string, head: Partial<Record<string, string>> = {}, requestLine = 'POST /streams/room-1/messages HTTP/1.1'): Buffer {
  const headers: Record<string, string | undefined> = { Host: 'chat.example', 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), ...head };
  const lines = Object.entries(headers)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return Buffer.from(`${requestLine}\r\n${lines}\r\n${body}`, 'utf8');
}

const json = (value: unknown) => JSON.stringify(value);

/** Requests the lane is for: it must take each one (and agree). */
const plain: Buffer[] = [
  post(json({ author: 'ann', text: 'hello' })),
  post(json({ text: 'hello', author: 'ann' })),
  post(' \r\n{ "author" : "ann" ,\t"text":"hi there" }\n'),
  post(json({ author: 'ann lee', text: '  padded  ' })),
  post(json({ author: 'ann', text: 'naïve 漢字 👋' })),
  post(json({ author: 'ann', text: '👋👋👋👋👋👋' })),
  post(json({ author: 'ann', text: 'a\u00a0b' })),
  post(json({ author: 'ann', text: 'x', extra: 'ignored' })),
  post(json({ author: 'abcdefgh', text: '123456789012' })),
  post(json({ author: 'ann', text: 'hi' }), { Connection: 'close' }),
  post(json({ author: 'ann', text: 'hi' }), { Connection: 'Keep-Alive' }),
  post(json({ author: 'ann', text: 'hi' }), { 'content-type': 'application/json; charset=utf-8', 'Content-Type': undefined }),
  post(json({ author: 'ann', text: 'hi' }), { 'Content-Type': 'Application/JSON;charset="UTF-8"' }),
  post(json({ author: 'ann', text: 'hi' }), { 'X-Request-Id': 'abc', 'User-Agent': 'curl/8' }),
  post(json({ author: 'ann', text: 'hi' }), {}, 'POST /streams/A.b_c-9/messages HTTP/1.1'),
  Buffer.concat([post(json({ author: 'ann', text: 'one' })), post(json({ author: 'bob', text: 'two' }))]),
  Buffer.concat([post(json({ author: 'ann', text: 'one' })), Buffer.from('GET /healthz HTTP/1.1\r\n\r\n')]),
];

/** Requests around the edges: the lane may leave them, but where it takes one it must agree. */
const edges: Buffer[] = [
  post(json({ author: 'ann', text: 'esc\u0041' }).replace('A', '\\u0041')),
  post('{"author":"ann","text":"line\\nbreak"}'),
  post('{"author":"ann","text":"tab\there"}'),
  post(json({ author: 'a  b', text: 'x' })),
  post(json({ author: ' ann', text: 'x' })),
  post(json({ author: 'ann ', text: 'x' })),
  post(json({ author: 'zoë', text: 'x' })),
  post(json({ author: 'abcdefghi', text: 'x' })),
  post(json({ author: 'ann', text: '1234567890123' })),
  post(json({ author: 'ann', text: '👋👋👋👋👋👋👋' })),
  post(json({ author: 'ann', text: '     ' })),
  post(json({ author: 'ann', text: '' })),
  post(json({ author: '', text: 'x' })),
  ...['\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u0085', '\u180e', '\u200b'].flatMap((space) => [
    post(json({ author: 'ann', text: `${space}x` })),
    post(json({ author: 'ann', text: `x${space}` })),
    post(json({ author: 'ann', text: ` ${space} x ` })),
  ]),
  post(json({ author: 'ann', text: 'x', author2: 1 })),
  post('{"author":"ann","text":"x","n":1}'),
  post('{"author":"ann","text":"x","o":{}}'),
  post('{"author":"ann","author":"bob","text":"x"}'),
  post('{"author":"ann","text":"x",}'),
  post('{"author":"ann","text":"x"} x'),
  post('{"author":"ann"}'),
  post('{"text":"x"}'),
  post('{}'),
  post('[]'),
  post('null'),
  post('\ufeff{"author":"ann","text":"x"}'),
  post('{"author":"ann","text":"x","__proto__":"p"}'),
  post('{"author":"ann","text":"x","au\\u0074hor":"eve"}'),
  post(json({ author: 'ann', text: 'hi' }), { Connection: 'close, keep-alive' }),
  post(json({ author: 'ann', text: 'hi' }), { Connection: 'upgrade' }),
  post(json({ author: 'ann', text: 'hi' }), { Connection: 'keep-alive, Upgrade', Upgrade: 'websocket' }),
  post(json({ author: 'ann', text: 'hi' }), { Host: undefined }),
  post(json({ author: 'ann', text: 'hi' }), { Host: '' }),
  post(json({ author: 'ann', text: 'hi' }), { 'Transfer-Encoding': 'chunked' }),
  post(json({ author: 'ann', text: 'hi' }), { Expect: '100-continue' }),
  post(json({ author: 'ann', text: 'hi' }), { 'Content-Encoding': 'gzip' }),
  post(json({ author: 'ann', text: 'hi' }), { 'Content-Type': 'application/json; charset=latin1' }),
  post(json({ author: 'ann', text: 'hi' }), { 'Content-Type': 'application/jsonx' }),
  post(json({ author: 'ann', text: 'hi' }), { 'Content-Type': 'text/plain' }),
  post(json({ author: 'ann', text: 'hi' }), { 'Content-Type': undefined }),
  post(json({ author: 'ann', text: 'hi' }), { 'Content-Length': '+27' }),
  post(json({ author: 'ann', text: 'hi' }), { 'Content-Length': '0027' }),
  post(json({ author: 'ann', text: 'hi' }), { 'Content-Length': '99999999999' }),
  post(json({ author: 'ann', text: 'hi' }), { 'Content-Length': undefined }),
  post(json({ author: 'ann', text: 'hi' }), { 'Content-Length': '100' }),
  post(json({ author: 'ann', text: 'hi' }), { Connection: '\tclose' }),
  post(json({ author: 'ann', text: 'hi' }), { 'X-Obs': 'caf\u00e9' }),
  post(json({ author: 'ann', text: 'hi' }), { 'Bad Name': 'x' }),
  post(json({ author: 'ann', text: 'hi' }), {}, 'POST /streams/room-1/messages HTTP/1.0'),
  post(json({ author: 'ann', text: 'hi' }), { Connection: 'keep-alive' }, 'POST /streams/room-1/messages HTTP/1.0'),
  post(json({ author: 'ann', text: 'hi' }), {}, 'post /streams/room-1/messages HTTP/1.1'),
  post(json({ author: 'ann', text: 'hi' }), {}, 'PUT /streams/room-1/messages HTTP/1.1'),
  post(json({ author: 'ann', text: 'hi' }), {}, 'POST /streams/room%2D1/messages HTTP/1.1'),
  post(json({ author: 'ann', text: 'hi' }), {}, 'POST /streams/-room/messages HTTP/1.1'),
  post(json({ author: 'ann', text: 'hi' }), {}, `POST /streams/${'r'.repeat(64)}/messages HTTP/1.1`),
  post(json({ author: 'ann', text: 'hi' }), {}, `POST /streams/${'r'.repeat(65)}/messages HTTP/1.1`),
  post(json({ author: 'ann', text: 'hi' }), {}, 'POST /streams/room-1/messages?x=1 HTTP/1.1'),
  post(json({ author: 'ann', text: 'hi' }), {}, 'POST /streams/room-1/messages/ HTTP/1.1'),
  post(json({ author: 'ann', text: 'hi' }), {}, 'POST  /streams/room-1/messages HTTP/1.1'),
  Buffer.from('POST /streams/room-1/messages HTTP/1.1\r\nHost: x\r\nHost: y\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'),
  Buffer.from('POST /streams/room-1/messages HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{"author":"ann","text":"x"}'),
  Buffer.from('POST /streams/room-1/messages HTTP/1.1\r\nHost: x\r\n folded\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{"author":"ann","text":"x"}'),
  Buffer.from('POST /streams/room-1/messages HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: 27\n\n{"author":"ann","text":"x"}'),
  Buffer.from('POST /streams/room-1/messages HTTP/1.1\r\nHost : x\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{"author":"ann","text":"x"}'),
  post(json({ author: 'ann', text: 'hi' })).subarray(0, 60),
  post(json({ author: 'ann', text: 'hi' })).subarray(0, -1),
  // Bytes that are not UTF-8: overlong, a surrogate, past U+10FFFF, a lone continuation, cut short.
  ...[[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0x80], [0xe6, 0xbc], [0xe0, 0x80, 0x80], [0xf0, 0x80, 0x80, 0x80]].map(
    (bad) => {
      const body = Buffer.concat([Buffer.from('{"author":"ann","text":"a'), Buffer.from(bad), Buffer.from('b"}')]);
      return Buffer.concat([Buffer.from(`POST /streams/room-1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    },
  ),
  Buffer.from('POST /streams/room-1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 28\r\n\r\n{"author":"ann","text":"\x01x"}'),
];

/** A random change to a request: bytes replaced, inserted or removed (seeded, so a failure repeats). */
function mutations(seed: number, count: number): Buffer[] {
  let state = seed;
  const random = (n: number) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const interesting = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x3a, 0x5c, 0x7b, 0x7d, 0x7f, 0x80, 0xa0, 0xc2, 0xe3, 0xed, 0xef, 0xf0, 0xff];
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = [...plain[random(plain.length)]!];
    for (let changes = 1 + random(3); changes > 0; changes--) {
      const at = random(bytes.length);
      const byte = random(2) ? interesting[random(interesting.length)]! : 0x20 + random(95);
      const kind = random(3);
      if (kind === 0) bytes[at] = byte;
      else if (kind === 1) bytes.splice(at, 0, byte);
      else bytes.splice(at, 1);
    }
    out.push(Buffer.from(bytes));
  }
  return out;
}

describe('the native post lane reads a post as the JavaScript path does', function () {
  let lane: PostLaneCalls;
  before(function () {
    const loaded = loadPostLane();
    // npm's install step builds it on Linux; elsewhere the node runs without the lane.
    if ('reason' in loaded) {
      if (process.platform === 'linux') throw new Error(`the post lane is not built here: ${loaded.reason}`);
      this.skip();
    }
    lane = (loaded as { calls: PostLaneCalls }).calls;
  });

  async function agree(bytes: Buffer): Promise<Reading> {
    const native = lane.parse(bytes, limits);
    if (native === null) return null;
    const javascript = await javascriptPost(bytes);
    assert.deepEqual(native, javascript?.reading ?? null, `the lane took ${JSON.stringify(bytes.toString('latin1'))}`);
    // And where it writes the post to viewers itself, the frame is the one the Hub would write,
    // and its answer the fast path's.
    const { message } = javascript!;
    const seq = Number(message.id.split('-')[1]);
    assert.deepEqual(lane.frame(native[0], native[1], native[2], message.ts, seq, JSON.stringify(NODE), JSON.stringify(REGION), 5), [encodeMessage(message, 'json'), createdAnswer(message, 5000)]);
    return native;
  }

  it('takes every plain post, with the stream, author, text, keep-alive and length the JavaScript path gives', async () => {
    for (const bytes of plain) assert.notEqual(await agree(bytes), null, `left ${JSON.stringify(bytes.toString('latin1'))}`);
    assert.deepEqual(lane.parse(post(json({ author: 'ann lee', text: '  naïve 👋  ' })), limits)?.slice(0, 4), ['room-1', 'ann lee', 'naïve 👋', true]);
  });

  it('takes nothing on the edges that the JavaScript path would read differently', async () => {
    let left = 0;
    for (const bytes of edges) if ((await agree(bytes)) === null) left++;
    // Most of these are the JavaScript path's (errors, escapes, other framing): it answers them.
    assert.ok(left > edges.length / 2, `${left} of ${edges.length} left`);
  });

  it('agrees on 3,000 random mutations of plain posts', async () => {
    let taken = 0;
    for (const bytes of mutations(20261207, 3000)) if ((await agree(bytes)) !== null) taken++;
    assert.ok(taken > 0, 'some mutations are still plain posts');
  });

  it('writes a frame and an answer with the id and Date JavaScript writes, from the first millisecond to the last and any sequence', () => {
    for (const [ms, seq] of [[0, 0], [1, 9], [1_765_000_000_000, 0], [1_765_000_000_123, 4_294_967_296], [8_640_000_000_000_000, 2 ** 53 - 1]] as const) {
      const message: Message = { id: `${ms}-${seq}`, stream: 'room-1', author: 'ann', text: 'hi ✓', ts: ms, node: NODE, region: REGION };
      assert.deepEqual(lane.frame('room-1', 'ann', 'hi ✓', ms, seq, JSON.stringify(NODE), JSON.stringify(REGION), 65), [encodeMessage(message, 'json'), createdAnswer(message, 65_000)]);
    }
  });
});
