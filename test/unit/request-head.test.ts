import assert from 'node:assert/strict';
import { decodeParam, parseRequestHead, type HeadResult } from '../../server/http/request-head.js';
import { loadHeadScanner } from '../../server/native/http-head.js';

const scanner = loadHeadScanner();

// Every test below runs twice: with JavaScript alone, and with the C scan first where it is built
// (npm's install step builds it; without it those runs are skipped, and the node parses in
// JavaScript too).
for (const [label, headScanner] of [['JavaScript', null], ['the C scan', scanner]] as const) {
describe(`request head parsing (raw fast paths), with ${label}`, function () {
  before(function () {
    if (label === 'the C scan' && headScanner === null) this.skip();
  });
  const parse = (text: string, max = 4096) => parseRequestHead(Buffer.from(text, 'latin1'), max, headScanner);

  it('reads method, path as sent, query and lower-cased headers', () => {
    const result = parse('GET /streams/a%2Eb/events?format=html&lastEventId=5-1 HTTP/1.1\r\nHost: x\r\nLast-Event-ID:  7-0 \r\n\r\n');
    assert.equal(result.kind, 'head');
    if (result.kind !== 'head') return;
    assert.equal(result.head.method, 'GET');
    assert.equal(result.head.version, '1.1');
    // Routes match the path as sent, as Express does, then decode their parameters.
    assert.equal(result.head.path, '/streams/a%2Eb/events');
    assert.equal(result.head.query.get('format'), 'html');
    assert.equal(result.head.headers.get('last-event-id'), '7-0');
    assert.equal(result.length, Buffer.byteLength('GET /streams/a%2Eb/events?format=html&lastEventId=5-1 HTTP/1.1\r\nHost: x\r\nLast-Event-ID:  7-0 \r\n\r\n'));
  });

  it('keeps colons and tabs inside values, and empty values, on every line', () => {
    const result = parse('GET / HTTP/1.1\r\nHost: a:80\r\nX-Empty:\r\nX-Tab: one\ttwo\r\nX-Last:\t last \r\n\r\n');
    assert.equal(result.kind, 'head');
    if (result.kind !== 'head') return;
    assert.deepEqual([...result.head.headers], [['host', 'a:80'], ['x-empty', ''], ['x-tab', 'one\ttwo'], ['x-last', 'last']]);
    // Only spaces and tabs come off: a no-break space (0xa0) stays, so `Content-Length: 2\xa0` is
    // no number the fast path takes, and Node's server answers it.
    const nbsp = parse('POST / HTTP/1.1\r\nContent-Length: 2\xa0\r\n\r\n');
    assert.ok(nbsp.kind === 'head' && nbsp.head.headers.get('content-length') === '2\xa0');
    const bare = parse('GET / HTTP/1.1\r\n\r\n');
    assert.ok(bare.kind === 'head' && bare.head.headers.size === 0 && bare.length === 18);
  });

  it('reads a head longer than its first scan, and waits for one still arriving', () => {
    const big = `POST /streams/a/messages HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(6000)}\r\nContent-Length: 2\r\n\r\n`;
    const result = parse(`${big}{}`, 16 * 1024);
    assert.ok(result.kind === 'head', result.kind);
    assert.equal(result.length, big.length);
    assert.equal(result.head.headers.get('x-big'), 'b'.repeat(6000));
    assert.equal(result.head.headers.get('content-length'), '2');
    assert.deepEqual(parse(big.slice(0, 5000), 16 * 1024), { kind: 'incomplete' });
    assert.deepEqual(parse(big, 4096), { kind: 'other' }, 'past the bound');
  });

  it('tells HTTP/1.0 from HTTP/1.1', () => {
    const result = parse('POST /streams/a/messages HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}');
    assert.ok(result.kind === 'head' && result.head.version === '1.0' && result.length === result.head.path.length + 37);
  });

  it('waits for the rest of a head split across packets, up to the size bound', () => {
    assert.deepEqual(parse('GET /streams/a/events HTTP/1.1\r\nHost: x\r\n'), { kind: 'incomplete' });
    assert.deepEqual(parse('POST /streams/a/mess'), { kind: 'incomplete' });
    assert.deepEqual(parse('GET /streams/a/events HTTP/1.1\r'), { kind: 'incomplete' });
    assert.deepEqual(parse(`GET /${'a'.repeat(100)}`, 50), { kind: 'other' });
  });

  it('does not wait for bytes that can never make a head it takes', () => {
    // Each would otherwise hold the client until the head deadline; Node answers them at once.
    for (const text of [
      'GET /healthz HTTP/1.1\nHost: t\n',
      'GET /streams/a/events HTTP/1.1\r\nHost: t\n',
      'HELLO\r\n',
      '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
      'GET /x HTTP/1.1 extra\r\nHost: t\r\n',
    ]) {
      assert.deepEqual(parse(text), { kind: 'other' }, JSON.stringify(text));
    }
  });

  it('leaves heads past Node\'s header count, and queries past Express\'s parameter count, to them', () => {
    const headers = (count: number) => Array.from({ length: count }, (_, index) => `X-${index}: 1\r\n`).join('');
    assert.equal(parse(`GET /x HTTP/1.1\r\n${headers(1000)}\r\n`, 64 * 1024).kind, 'head');
    assert.deepEqual(parse(`GET /x HTTP/1.1\r\n${headers(1001)}\r\n`, 64 * 1024), { kind: 'other' });
    const query = (count: number) => Array.from({ length: count }, (_, index) => `k${index}=`).join('&');
    assert.equal(parse(`GET /x?${query(1000)} HTTP/1.1\r\n\r\n`, 64 * 1024).kind, 'head');
    assert.deepEqual(parse(`GET /x?${query(1001)} HTTP/1.1\r\n\r\n`, 64 * 1024), { kind: 'other' });
  });

  it('decodes a route parameter as Express does, or says it cannot', () => {
    assert.equal(decodeParam('lobby'), 'lobby');
    assert.equal(decodeParam('a%2Eb'), 'a.b');
    assert.equal(decodeParam('a%2Fb'), 'a/b');
    assert.equal(decodeParam('%E0%A4%A'), null);
  });

  it('leaves anything unusual to the HTTP server', () => {
    for (const text of [
      'GET /x HTTP/2.0\r\n\r\n',
      'GET x HTTP/1.1\r\n\r\n',
      'get /x HTTP/1.1\r\n\r\n',
      'GET /x HTTP/1.1\r\nNoColon\r\n\r\n',
      'GET /x HTTP/1.1\r\nA: 1\r\na: 2\r\n\r\n',
      'GET /x HTTP/1.1\r\nBad Name: 1\r\n\r\n',
      'GET /x HTTP/1.1\r\nA: one\x00two\r\n\r\n',
      'GET /x HTTP/1.1\r\nA: one\x7f\r\n\r\n',
      'GET /x HTTP/1.1\r\n: no name\r\n\r\n',
      'GET /x HTTP/1.1\r\nHost: a\r\nB: bare\nline feed\r\n\r\n',
      'GET /x HTTP/1.1\r\nHost: a\r\nB: bare\rcarriage return\r\n\r\n',
      'GET /x HTTP/1.1\r\nHost: a\r\nC: 1\r\nD: vertical\x0btab\r\n\r\n',
      'GET /x?a=\x01 HTTP/1.1\r\n\r\n',
      'GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n',
      'GET /x\tHTTP/1.1\r\n\r\n',
      'GET /x HTTP/1.1\r\nConnection: close\t\r\n\r\n',
      'GET /x HTTP/1.1\r\nConnection: keep-alive,\tclose\r\n\r\n',
      'GET  /x HTTP/1.1\r\n\r\n',
      'GET /x  HTTP/1.1\r\n\r\n',
      'GET /x HTTP/1.1 \r\n\r\n',
      ' GET /x HTTP/1.1\r\n\r\n',
      'G3T /x HTTP/1.1\r\n\r\n',
      '/x HTTP/1.1\r\n\r\n',
      'GET HTTP/1.1\r\n\r\n',
      'GET /x HTTP/1.10\r\n\r\n',
      'GET /x HTTP/1.\r\n\r\n',
      'GET /x HTTP/1.2\r\n\r\n',
      'GET /x http/1.1\r\n\r\n',
      'GET /a b HTTP/1.1\r\n\r\n',
      'GET /x HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n',
    ]) {
      assert.deepEqual(parse(text), { kind: 'other' }, JSON.stringify(text));
    }
  });
});
}

/** A result as plain data, so that two parses can be compared whole. */
function plain(result: HeadResult): unknown {
  if (result.kind !== 'head') return result;
  const { method, version, path, query, headers } = result.head;
  return { method, version, path, query: query.toString(), headers: [...headers], length: result.length };
}

describe('request head parsing: the C scan and JavaScript agree', function () {
  before(function () {
    if (scanner === null) this.skip();
  });

  it('on every head of the tests above and on 40,000 changed a byte at a time', () => {
    const heads = [
      'POST /streams/mxcabsu0-rooms-sse-chat-123/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 25\r\n\r\n{"author":"a","text":"b"}',
      'GET /streams/a%2Eb/events?format=html&lastEventId=5-1 HTTP/1.1\r\nHost: x\r\nLast-Event-ID:  7-0 \r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a:80\r\nX-Empty:\r\nX-Tab: one\ttwo\r\nX-Last:\t last \r\n\r\n',
      'POST / HTTP/1.0\r\nConnection: keep-alive,\tclose\r\nContent-Length: 2\xa0\r\n\r\n{}',
      'GET /x?a=1&b=2 HTTP/1.1\r\nConnection: close\r\nA: 1\r\na: 2\r\n\r\n',
      `GET /x HTTP/1.1\r\n${Array.from({ length: 70 }, (_, index) => `X-${index}: ${index}\r\n`).join('')}\r\n`,
      `GET /x HTTP/1.1\r\nX-Big: ${'b'.repeat(4100)}\r\n\r\n`,
    ];
    // Bytes that change a parse: line ends, separators, controls, DEL, high bytes, case.
    const interesting = [0x0d, 0x0a, 0x09, 0x20, 0x3a, 0x2f, 0x3f, 0x00, 0x01, 0x7f, 0x80, 0xa0, 0xff, 0x41, 0x61, 0x31, 0x30];
    // A fixed sequence, so that a failure can be run again.
    let seed = 12345;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % below;
    };
    const check = (bytes: Buffer, max: number) => {
      assert.deepEqual(plain(parseRequestHead(bytes, max, scanner)), plain(parseRequestHead(bytes, max, null)), JSON.stringify(bytes.toString('latin1')));
    };
    for (const head of heads) {
      const bytes = Buffer.from(head, 'latin1');
      // Bounds the server never passes too: a C int would wrap the first one into a small positive.
      for (const max of [16 * 1024, 4096, 60, 0, -1, -(2 ** 32) + 100, 100.5, Infinity, NaN]) check(bytes, max);
      for (let cut = 0; cut <= bytes.length; cut += Math.max(1, bytes.length >> 6)) check(bytes.subarray(0, cut), 16 * 1024);
      for (let round = 0; round < 40_000 / heads.length; round++) {
        const at = random(Math.min(bytes.length, 400));
        const byte = interesting[random(interesting.length)]!;
        const kind = random(3);
        const changed =
          kind === 0
            ? Buffer.concat([bytes.subarray(0, at), Buffer.of(byte), bytes.subarray(at + 1)])
            : kind === 1
              ? Buffer.concat([bytes.subarray(0, at), Buffer.of(byte), bytes.subarray(at)])
              : Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
        check(changed, 16 * 1024);
      }
    }
  });
});
