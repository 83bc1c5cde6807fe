import assert from 'node:assert/strict';
import type { Message } from '../../server/broker/broker.js';
import { formatId } from '../../server/broker/ids.js';
import { MemoryBroker } from '../../server/broker/memory.js';
import { messageJson, messageJsonBytes } from '../../server/broker/message-json.js';
import { encodeEvent, encodeJsonEvent } from '../../server/sse/frame.js';

// What a viewer and a poster receive is exactly JSON.stringify(message), however it is made.
describe('message JSON', () => {
  const awkward = [
    'plain',
    'quote " backslash \\ slash /',
    'controls \u0000 \u0001 \b \f \n \r \t \u001f \u007f',
    'line separators \u2028 \u2029',
    'accents é ü, CJK 漢字, emoji 😀',
    'two bytes é ü ß ߿, three bytes ࠀ 漢字 ‰ \uffff, none past the BMP',
    'lone surrogates \ud800 x \udfff',
    '',
    '<script>alert(1)</script>',
  ];

  it('is JSON.stringify of every message a broker makes, whatever its author, text, node and region', () => {
    for (const [index, text] of awkward.entries()) {
      const broker = new MemoryBroker({ historySize: 10, historyMaxAgeMs: 0, nodeId: awkward[(index + 1) % awkward.length]!, region: awkward[(index + 2) % awkward.length]! });
      const message = broker.publishNow('room.1_a-b', { author: awkward[(index + 3) % awkward.length]!, text });
      assert.equal(messageJson(message), JSON.stringify(message), text);
      assert.deepEqual(JSON.parse(messageJson(message)), { ...message });
      // A post's Content-Length.
      assert.equal(messageJsonBytes(message), Buffer.byteLength(JSON.stringify(message)), text);
    }
  });

  it('follows the node and region from message to message (Redis delivers several nodes’ posts)', () => {
    const from = (node: string, region: string, ms: number): Message => ({ id: formatId({ ms, seq: 0 }), stream: 's', author: 'a', text: 't', ts: ms, node, region });
    for (const message of [from('n1', 'eu', 1), from('n2', 'eu', 2), from('n2', 'us', 3), from('n1', 'eu', 4), from('n"3', 'a\\b', 5)]) {
      assert.equal(messageJson(message), JSON.stringify(message));
      assert.equal(messageJsonBytes(message), Buffer.byteLength(JSON.stringify(message)));
    }
  });

  it('is JSON.stringify too for messages made by hand, whose id is not the broker’s form or not their ts', () => {
    const base: Message = { id: '1700000000000-0', stream: 's', author: 'a', text: 't', ts: 1700000000000, node: 'n', region: 'r' };
    const odd: Message[] = [
      { ...base, id: 'x"y' },
      { ...base, id: '1700000000000-0\n' },
      { ...base, id: '1700000000000-' },
      { ...base, id: '01700000000000-0' },
      { ...base, id: '1700000000000-1a' },
      { ...base, ts: 1700000000001 },
      { ...base, id: '5-0', ts: 5 },
      { ...base, id: '0-0', ts: 0 },
      { ...base, id: 'NaN-1', ts: NaN },
      { ...base, id: 'Infinity-0', ts: Infinity },
      { ...base, id: '-5-1', ts: -5 },
      { ...base, id: '1.5-0', ts: 1.5 },
      { ...base, stream: 'a"b' },
      { ...base, stream: 'a\\b' },
      { ...base, stream: 'a\nb' },
      { ...base, stream: 'é' },
      { ...base, stream: '' },
    ];
    for (const message of odd) {
      assert.equal(messageJson(message), JSON.stringify(message), message.id);
      assert.equal(messageJsonBytes(message), Buffer.byteLength(JSON.stringify(message)), message.id);
    }
  });

  it('frames JSON as encodeEvent would, without looking for line breaks it cannot have', () => {
    const broker = new MemoryBroker({ historySize: 10, historyMaxAgeMs: 0, nodeId: 'n', region: 'r' });
    for (const text of awkward) {
      const message = broker.publishNow('s', { author: 'a', text });
      const json = messageJson(message);
      assert.deepEqual(encodeJsonEvent(message.id, json), encodeEvent({ id: message.id, data: json }));
    }
    assert.equal(encodeJsonEvent('1-0\r\nid: 9', '{}').toString(), 'id: 1-0id: 9\ndata: {}\n\n');
  });
});
