// The benchmark's figures are only as true as its load generator's counting: these check the
// subscriber side's scanner (the Node one; sse-subscriber.c is the same state machine) against
// the frames the server itself encodes, split at every packet boundary, and the latency histogram
// against known distributions.
import assert from 'node:assert/strict';
import { LatencyHistogram } from '../../bench/loadgen/histogram.js';
import { markerText } from '../../bench/loadgen/protocol.js';
import { SseScanner, type DeliverySink } from '../../bench/loadgen/sse-scanner.js';
import type { Message } from '../../server/broker/broker.js';
import { encodeMessage } from '../../server/hub.js';

const HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n';
const CHUNKED_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';

interface Delivery {
  sendUs: number;
  fromNode: number;
  toNode: number;
}

class Sink implements DeliverySink {
  readonly deliveries: Delivery[] = [];
  onDelivery(sendUs: number, fromNode: number, toNode: number): void {
    this.deliveries.push({ sendUs, fromNode, toNode });
  }
}

/** A message as the server stores it, carrying the publisher's marker in its text. */
function message(seq: number, id: string, fromNode = 1): Message {
  return { id, stream: 'bench-0', author: 'bench', text: markerText(seq, 1_000_000 + seq, fromNode), ts: 0, node: 'n', region: 'r' };
}

/** The body a viewer receives: the opening lines, then each message framed by the server's encoder. */
function body(messages: Message[]): Buffer {
  const parts: Buffer[] = [Buffer.from('retry: 2000\n\n')];
  messages.forEach((m, index) => {
    parts.push(encodeMessage(m, 'json'));
    if (index % 3 === 1) parts.push(Buffer.from(':\n\n')); // a heartbeat between messages
  });
  return Buffer.concat(parts);
}

/** Chunked transfer encoding with uneven chunk sizes, so chunk edges fall inside frames. */
function chunked(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0, size = 5; at < data.length; at += size, size = (size * 7) % 61 || 3) {
    const piece = data.subarray(at, Math.min(data.length, at + size));
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function feedInPieces(scanner: SseScanner, bytes: Buffer, pieceSize: number): boolean {
  let ok = true;
  for (let at = 0; at < bytes.length; at += pieceSize) ok = scanner.feed(bytes, at, Math.min(bytes.length, at + pieceSize), 5_000_000) && ok;
  return ok;
}

const TEN = Array.from({ length: 10 }, (_, seq) => message(seq, `1795444770${String(100 + seq)}-0`));

describe('bench load generator: SSE scanner', () => {
  for (const pieceSize of [1, 2, 3, 7, 64, 100_000]) {
    it(`counts each message of the server's frames once, in order, read ${pieceSize} byte(s) at a time`, () => {
      for (const [head, encode] of [
        [HEAD, (b: Buffer) => b],
        [CHUNKED_HEAD, chunked],
      ] as const) {
        const sink = new Sink();
        const scanner = new SseScanner(sink, 2);
        assert.equal(feedInPieces(scanner, Buffer.concat([Buffer.from(head), encode(body(TEN))]), pieceSize), true);
        assert.equal(scanner.status, 200);
        assert.equal(scanner.received, 10, head === HEAD ? 'plain body' : 'chunked body');
        assert.equal(scanner.duplicates, 0);
        assert.equal(scanner.outOfOrder, 0);
        assert.deepEqual(
          sink.deliveries,
          TEN.map((_, seq) => ({ sendUs: 1_000_000 + seq, fromNode: 1, toNode: 2 })),
        );
      }
    });
  }

  it('counts a message delivered twice as a duplicate, and an id that goes back as out of order', () => {
    const sink = new Sink();
    const scanner = new SseScanner(sink, 0);
    const frames = [message(0, '200-0'), message(1, '200-1'), message(1, '200-2'), message(2, '199-5'), message(3, '300-0')];
    const bytes = Buffer.concat([Buffer.from(HEAD), body(frames)]);
    scanner.feed(bytes, 0, bytes.length, 0);
    assert.equal(scanner.received, 4, 'four distinct publisher sequence numbers');
    assert.equal(scanner.duplicates, 1);
    assert.equal(scanner.outOfOrder, 1, '199-5 after 200-2');
    assert.equal(sink.deliveries.length, 4, 'a duplicate is not a delivery');
  });

  it("reads nchan's `<time>:<tag>` ids in order", () => {
    const scanner = new SseScanner(new Sink(), 0);
    const frames = [message(0, '1700000000:0'), message(1, '1700000000:1'), message(2, '1700000001:0')];
    const bytes = Buffer.concat([Buffer.from(HEAD), body(frames)]);
    scanner.feed(bytes, 0, bytes.length, 0);
    assert.equal(scanner.received, 3);
    assert.equal(scanner.outOfOrder, 0);
  });

  it('reports a response that is not 200 and counts nothing from it', () => {
    const sink = new Sink();
    const scanner = new SseScanner(sink, 0);
    const bytes = Buffer.concat([Buffer.from('HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\r\n'), body(TEN)]);
    assert.equal(scanner.feed(bytes, 0, bytes.length, 0), false);
    assert.equal(scanner.status, 503);
    assert.equal(scanner.received, 0);
    assert.equal(sink.deliveries.length, 0);
  });
});

describe('bench load generator: latency histogram', () => {
  it('gives quantiles within 1% and the exact maximum, and merges by addition', () => {
    const whole = new LatencyHistogram();
    const low = new LatencyHistogram();
    const high = new LatencyHistogram();
    for (let us = 1; us <= 100_000; us++) {
      whole.record(us);
      (us <= 50_000 ? low : high).record(us);
    }
    for (const [q, expected] of [
      [0.5, 50_000],
      [0.9, 90_000],
      [0.99, 99_000],
    ] as const) {
      const got = whole.quantileUs(q);
      assert.ok(Math.abs(got - expected) / expected < 0.01, `q${q}: ${got} vs ${expected}`);
    }
    assert.equal(whole.summary().maxMs, 100);
    low.merge(high);
    assert.equal(low.count, whole.count);
    assert.deepEqual([...low.counts], [...whole.counts]);
    assert.equal(low.quantileUs(0.99), whole.quantileUs(0.99));
  });

  it('keeps small latencies exact to the microsecond', () => {
    const histogram = new LatencyHistogram();
    for (const us of [10, 20, 30, 40, 250]) histogram.record(us);
    assert.equal(histogram.quantileUs(0.5), 30.5, 'the midpoint of the 30 us bucket');
    assert.equal(histogram.quantileUs(1), 250);
  });
});
