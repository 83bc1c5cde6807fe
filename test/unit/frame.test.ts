import assert from 'node:assert/strict';
import { encodeEvent, encodePreamble, encodeReset, HEARTBEAT_FRAME, SSE_HEADERS } from '../../server/sse/frame.js';

describe('SSE frames', () => {
  it('frames an event with id and one data line', () => {
    assert.equal(encodeEvent({ id: '1-0', data: '{"a":1}' }).toString(), 'id: 1-0\ndata: {"a":1}\n\n');
  });

  it('splits multi-line data into one data line each, whatever the line ending', () => {
    assert.equal(encodeEvent({ data: 'a\nb\r\nc\rd' }).toString(), 'data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('strips CR, LF and NUL from ids and event names (no field injection)', () => {
    const frame = encodeEvent({ id: '1-0\ndata: injected', event: 'x\r\nid: 2', data: 'd' }).toString();
    assert.equal(frame, 'id: 1-0data: injected\nevent: xid: 2\ndata: d\n\n');
  });

  it('starts with retry, heartbeats with a comment, resets with a named event', () => {
    assert.equal(encodePreamble(2000).toString(), 'retry: 2000\n: connected\n\n');
    assert.equal(HEARTBEAT_FRAME.toString(), ':\n\n');
    assert.equal(encodeReset(5).toString(), 'event: reset\ndata: {"lost":5}\n\n');
    assert.equal(encodeReset('unknown').toString(), 'event: reset\ndata: {"lost":"unknown"}\n\n');
  });

  it('keeps proxies from buffering or transforming the stream', () => {
    assert.equal(SSE_HEADERS['Cache-Control'], 'no-cache, no-transform');
    assert.equal(SSE_HEADERS['X-Accel-Buffering'], 'no');
    assert.ok(Object.isFrozen(SSE_HEADERS));
  });
});
