// The body limit of a message post: never below what a message within the length limits takes.
import assert from 'node:assert/strict';
import { messageBodyLimit } from '../../server/validation.js';

/** Every character as a JSON escape, `\uXXXX`: the longest way to write a string in JSON. */
const escapeAll = (value: string) => [...value].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

describe('messageBodyLimit', () => {
  const limits = { maxAuthorChars: 50, maxTextChars: 2000 };

  it('fits a message at the limits in the widest encodings: three-byte characters as a form, every character escaped in JSON', () => {
    for (const char of ['漢', '\uffff', 'é', '"', '\n']) {
      const author = char.repeat(limits.maxAuthorChars);
      const text = char.repeat(limits.maxTextChars);
      const form = new URLSearchParams({ author, text }).toString();
      assert.ok(Buffer.byteLength(form) <= messageBodyLimit({ ...limits, maxBodyBytes: 0 }, 'form'), `form of ${JSON.stringify(char)}`);
      const escaped = `{"author":"${escapeAll(author)}","text":"${escapeAll(text)}"}`;
      assert.deepEqual(JSON.parse(escaped), { author, text });
      assert.ok(Buffer.byteLength(escaped) <= messageBodyLimit({ ...limits, maxBodyBytes: 0 }, 'json'), `JSON of ${JSON.stringify(char)}`);
    }
  });

  it('is MAX_BODY_BYTES where that is more, and grows with the length limits where it is not', () => {
    assert.equal(messageBodyLimit({ ...limits, maxBodyBytes: 1_000_000 }, 'form'), 1_000_000);
    assert.equal(messageBodyLimit({ ...limits, maxBodyBytes: 16 * 1024 }, 'json'), 16 * 1024, 'the default holds any JSON message at the default limits');
    assert.ok(messageBodyLimit({ ...limits, maxBodyBytes: 16 * 1024 }, 'form') > 16 * 1024);
    const wide = { maxAuthorChars: 50, maxTextChars: 100_000 };
    assert.ok(messageBodyLimit({ ...wide, maxBodyBytes: 16 * 1024 }, 'json') >= 6 * 100_050);
  });
});
