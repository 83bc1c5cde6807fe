import assert from 'node:assert/strict';
import { encodeCommand, ReplyReader, type Reply } from '../../server/broker/resp.js';

/** Feeds `wire` to a fresh reader in pieces of `size` bytes and returns every reply. */
function readInPieces(wire: Buffer, size: number): Reply[] {
  const reader = new ReplyReader();
  const replies: Reply[] = [];
  for (let at = 0; at < wire.length; at += size) replies.push(...reader.push(wire.subarray(at, at + size)));
  return replies;
}

describe('RESP2', () => {
  it('encodes a command as an array of bulk strings, lengths in bytes', () => {
    assert.equal(encodeCommand(['SET', 'k', 'é']), '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n');
    assert.equal(encodeCommand(['EVALSHA', 'a\r\nb']), '*2\r\n$7\r\nEVALSHA\r\n$4\r\na\r\nb\r\n');
  });

  it('reads every reply type, whatever the chunk boundaries', () => {
    const wire = Buffer.from(
      '+OK\r\n$15\r\n1700000000000-0\r\n-MOVED 3999 127.0.0.1:7001\r\n:42\r\n$-1\r\n$0\r\n\r\n' +
        '*2\r\n$1\r\na\r\n*1\r\n:-1\r\n$9\r\nli\r\nne é\r\n',
    );
    const expected: Reply[] = [
      { kind: 'string', value: 'OK' },
      { kind: 'string', value: '1700000000000-0' },
      { kind: 'error', message: 'MOVED 3999 127.0.0.1:7001' },
      { kind: 'integer', value: 42 },
      { kind: 'null' },
      { kind: 'string', value: '' },
      { kind: 'array', items: [{ kind: 'string', value: 'a' }, { kind: 'array', items: [{ kind: 'integer', value: -1 }] }] },
      // A bulk string may hold CR LF, and its length counts bytes, not characters.
      { kind: 'string', value: 'li\r\nne é' },
    ];
    for (const size of [1, 2, 3, 5, 7, 64]) assert.deepEqual(readInPieces(wire, size), expected, `pieces of ${size}`);
  });

  it('keeps an unfinished reply until the rest arrives', () => {
    const reader = new ReplyReader();
    assert.deepEqual(reader.push(Buffer.from('$5\r\nhel')), []);
    assert.deepEqual(reader.push(Buffer.from('lo\r')), []);
    assert.deepEqual(reader.push(Buffer.from('\n+OK\r\n')), [
      { kind: 'string', value: 'hello' },
      { kind: 'string', value: 'OK' },
    ]);
  });

  it('throws on bytes that are not RESP2, so the connection is closed instead of misread', () => {
    assert.throws(() => new ReplyReader().push(Buffer.from('HTTP/1.1 400 Bad Request\r\n')), /not a RESP2 reply/);
    assert.throws(() => new ReplyReader().push(Buffer.from('$abc\r\n')), /not a RESP2 number/);
  });
});
