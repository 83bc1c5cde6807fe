// The pure pieces of the raw POST fast path: the hand-written message check against the zod
// schema, the response text, and the rate limit's headers against express-rate-limit's.
import assert from 'node:assert/strict';
import { PostRateLimit } from '../../server/http/post-rate-limit.js';
import { httpDate, renderJsonResponse } from '../../server/http/raw-response.js';
import { messageSchema, quickMessageInput } from '../../server/validation.js';

const limits = { maxAuthorChars: 5, maxTextChars: 8 };

describe('the fast path check of a message', () => {
  const schema = messageSchema(limits);
  const inputs: unknown[] = [
    { author: 'ada', text: 'hi' },
    { author: '  a \t\n b ', text: ' x\r\ny\rz\0 ' },
    { author: 'abcde', text: '12345678' },
    { author: 'abcdef', text: 'x' },
    { author: 'a', text: '123456789' },
    { author: ' ', text: 'x' },
    { author: 'a', text: '\0\0' },
    { author: 'a' },
    { text: 'b' },
    { author: 1, text: 'b' },
    { author: 'a', text: ['b'] },
    { author: 'a', text: 'b', extra: true },
    {},
    [],
    null,
    'string',
    42,
  ];
  for (const input of inputs) {
    it(`agrees with the schema on ${JSON.stringify(input)}`, () => {
      const parsed = schema.safeParse(input);
      // Exactly zod's value for valid input; null (zod then says why) for anything else.
      assert.deepEqual(quickMessageInput(input, limits), parsed.success ? parsed.data : null);
    });
  }
});

describe('the normalising of author and text', () => {
  // The rules as first written, one replace each: the shortcuts for plain values must agree.
  const author = (value: string) => value.replace(/\s+/g, ' ').trim();
  const text = (value: string) => value.replace(/\r\n?/g, '\n').replace(/[\0]/g, '').trim();
  const schema = messageSchema({ maxAuthorChars: 100, maxTextChars: 100 });
  const values = ['ada', 'ada lovelace', 'a  b', ' a', 'a ', 'a\tb', 'a\nb', 'a\u00a0b', 'é b', '\u3000a', 'a\u2028b', 'a\ufeffb', 'x\u000bz', '~!', 'a\u007fb', 'l1\r\nl2\rl3\nl4', 'n\0ul\0', ' \r\n x \r\n ', '\0a\r'];
  it('gives what the regular expressions give, for plain and awkward values alike', () => {
    for (const value of values) {
      const parsed = schema.safeParse({ author: value, text: value });
      if (author(value) === '' || text(value) === '') {
        assert.equal(parsed.success, false, JSON.stringify(value));
        continue;
      }
      assert.deepEqual(parsed.success && parsed.data, { author: author(value), text: text(value) }, JSON.stringify(value));
      assert.deepEqual(quickMessageInput({ author: value, text: value }, { maxAuthorChars: 100, maxTextChars: 100 }), { author: author(value), text: text(value) });
    }
  });
});

describe('raw JSON responses', () => {
  it('render the head Node and Express send, in their order', () => {
    const now = Date.UTC(2026, 10, 23, 11, 0, 0, 500);
    const text = renderJsonResponse({ status: 201, headerLines: 'Location: /x\r\n', json: '{"a":"é"}', keepAlive: true, keepAliveTimeoutMs: 5000 }, now);
    assert.equal(
      text,
      'HTTP/1.1 201 Created\r\nLocation: /x\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 10\r\n' +
        'Date: Mon, 23 Nov 2026 11:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n{"a":"é"}',
    );
    assert.match(renderJsonResponse({ status: 503, headerLines: '', json: '{}', keepAlive: false, keepAliveTimeoutMs: 5000 }, now), /^HTTP\/1\.1 503 Service Unavailable\r\n[^]*Connection: close\r\n\r\n\{\}$/);
  });

  it('format Date as HTTP does, once a second', () => {
    assert.equal(httpDate(Date.UTC(2026, 0, 2, 3, 4, 5, 999)), 'Fri, 02 Jan 2026 03:04:05 GMT');
  });
});

describe('the shared post rate limit', () => {
  it('counts per key within a fixed window and renders draft-8 headers as express-rate-limit does', async () => {
    const limit = new PostRateLimit(2, 10_000);
    try {
      const now = 1_000_000;
      const first = limit.hit('127.0.0.1', now);
      assert.deepEqual(first, {
        limited: false,
        // pk as express-rate-limit computes it for 127.0.0.1 (seen in its own responses).
        headerLines: 'RateLimit: "2-in-10sec"; r=1; t=10\r\nRateLimit-Policy: "2-in-10sec"; q=2; w=10; pk=:MTJjYTE3YjQ5YWYy:\r\n',
      });
      assert.equal(limit.hit('127.0.0.1', now + 1).limited, false);
      assert.equal(limit.hit('127.0.0.1', now + 2).limited, true);
      assert.equal(limit.hit('10.0.0.1', now + 2).limited, false, 'other clients have their own count');
      assert.equal(limit.hit('127.0.0.1', now + 10_000).limited, false, 'a new window starts');
      assert.equal((await limit.increment('::1')).totalHits, 1);
      assert.equal(PostRateLimit.keyFor('::ffff:127.0.0.1'), PostRateLimit.keyFor('::ffff:127.0.0.1'));
    } finally {
      limit.close();
    }
  });
});
