// The subscriber side's parser: one instance per connection, fed raw socket bytes. It reads the
// HTTP response head once, undoes chunked transfer encoding, and scans SSE lines byte by byte
// without building strings, picking out only the `id:` numbers and the publisher's marker
// `|seq|sendUs|node|` inside the `data:` line. Everything else (comments, retry, other fields)
// is skipped. The load generator must be far cheaper per message than the servers it measures,
// so this is a hand-written state machine over a Uint8Array, not a general SSE client.

/** Where a connection reports each message it sees (shared by all connections of a worker). */
export interface DeliverySink {
  /** A message with the publisher's marker arrived; `nowUs` is the read time of its chunk. */
  onDelivery(sendUs: number, fromNode: number, toNode: number, nowUs: number): void;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const PIPE = 0x7c;
const ZERO = 0x30;
const NINE = 0x39;

// SSE line states.
const LINE_START = 0;
const SKIP_LINE = 1;
const PREFIX_I = 2; // saw "i"
const PREFIX_ID = 3; // saw "id"
const ID_VALUE = 4;
const PREFIX_D = 5; // saw "d", "da", "dat", "data" via prefixPos
const DATA_SCAN = 6;
const MARK_SEQ = 7;
const MARK_TS = 8;
const MARK_NODE = 9;

// Chunked transfer-encoding states.
const CHUNK_SIZE = 0;
const CHUNK_EXT = 1; // after the size, up to LF
const CHUNK_DATA = 2;
const CHUNK_DATA_CR = 3;
const CHUNK_DATA_LF = 4;
const CHUNK_DONE = 5;

const DATA_PREFIX = [0x64, 0x61, 0x74, 0x61]; // "data"

export class SseScanner {
  /** HTTP status of the response, 0 until the head is read. */
  status = 0;
  headDone = false;
  private headText = '';
  private chunked = false;
  private chunkState = CHUNK_SIZE;
  private chunkLeft = 0;

  private state = LINE_START;
  private prefixPos = 0;
  private idA = 0;
  private idB = 0;
  private idPart = 0;
  private idDigits = false;
  private seq = 0;
  private sendUs = 0;
  private fromNode = 0;
  private haveMarker = false;
  private eventIdA = -1;
  private eventIdB = -1;

  /** Distinct messages seen (by publisher seq), duplicates, and ids that did not increase. */
  received = 0;
  duplicates = 0;
  outOfOrder = 0;
  private lastIdA = -1;
  private lastIdB = -1;
  private seen = new Uint8Array(64);

  constructor(
    private readonly sink: DeliverySink,
    /** The node this connection is attached to, to tell same-node from cross-node latency. */
    readonly connectionNode: number,
  ) {}

  /** Feeds bytes [start, end) of `buf`, read at `nowUs`. Returns false when the head was not 200. */
  feed(buf: Uint8Array, start: number, end: number, nowUs: number): boolean {
    let at = start;
    if (!this.headDone) {
      at = this.readHead(buf, start, end);
      if (at < 0) return this.status === 0 || this.status === 200;
      if (this.status !== 200) return false;
    }
    if (!this.chunked) {
      this.scan(buf, at, end, nowUs);
      return true;
    }
    while (at < end) {
      switch (this.chunkState) {
        case CHUNK_SIZE: {
          const c = buf[at++]!;
          const digit = c >= ZERO && c <= NINE ? c - ZERO : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
          if (digit >= 0) this.chunkLeft = this.chunkLeft * 16 + digit;
          else if (c === LF) this.chunkState = this.chunkLeft === 0 ? CHUNK_DONE : CHUNK_DATA;
          else this.chunkState = CHUNK_EXT;
          break;
        }
        case CHUNK_EXT:
          if (buf[at++] === LF) this.chunkState = this.chunkLeft === 0 ? CHUNK_DONE : CHUNK_DATA;
          break;
        case CHUNK_DATA: {
          const stop = Math.min(end, at + this.chunkLeft);
          this.scan(buf, at, stop, nowUs);
          this.chunkLeft -= stop - at;
          at = stop;
          if (this.chunkLeft === 0) this.chunkState = CHUNK_DATA_CR;
          break;
        }
        case CHUNK_DATA_CR:
          this.chunkState = buf[at++] === CR ? CHUNK_DATA_LF : CHUNK_SIZE;
          break;
        case CHUNK_DATA_LF:
          at++;
          this.chunkState = CHUNK_SIZE;
          break;
        default: // the terminating chunk: the stream ended
          return true;
      }
    }
    return true;
  }

  /** Consumes the response head; returns the offset after it, or -1 if it is not complete yet. */
  private readHead(buf: Uint8Array, start: number, end: number): number {
    const before = this.headText.length;
    this.headText += Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
    const headEnd = this.headText.indexOf('\r\n\r\n');
    if (headEnd < 0) {
      if (this.headText.length > 64 * 1024) this.status = 599;
      return -1;
    }
    const head = this.headText.slice(0, headEnd);
    this.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 599);
    this.chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(head);
    this.headDone = true;
    this.headText = '';
    return start + (headEnd + 4 - before);
  }

  /** The SSE state machine over decoded body bytes. */
  private scan(buf: Uint8Array, start: number, end: number, nowUs: number): void {
    let state = this.state;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c === CR) continue; // our servers end lines with LF; tolerate CRLF
      switch (state) {
        case LINE_START:
          if (c === LF) this.dispatch(nowUs);
          else if (c === 0x69) state = PREFIX_I;
          else if (c === 0x64) {
            state = PREFIX_D;
            this.prefixPos = 1;
          } else state = SKIP_LINE;
          break;
        case SKIP_LINE:
          if (c === LF) state = LINE_START;
          break;
        case PREFIX_I:
          state = c === 0x64 ? PREFIX_ID : c === LF ? LINE_START : SKIP_LINE;
          break;
        case PREFIX_ID:
          if (c === COLON) {
            state = ID_VALUE;
            this.idA = 0;
            this.idB = 0;
            this.idPart = 0;
            this.idDigits = false;
          } else state = c === LF ? LINE_START : SKIP_LINE;
          break;
        case ID_VALUE:
          if (c >= ZERO && c <= NINE) {
            if (this.idPart === 0) this.idA = this.idA * 10 + (c - ZERO);
            else this.idB = this.idB * 10 + (c - ZERO);
            this.idDigits = true;
          } else if (c === LF) {
            this.eventIdA = this.idA;
            this.eventIdB = this.idB;
            state = LINE_START;
          } else if (this.idDigits && this.idPart === 0) {
            this.idPart = 1; // "<ms>-<seq>" (sse-chat, naive) or "<time>:<tag>" (nchan)
          }
          break;
        case PREFIX_D:
          if (this.prefixPos < 4 && c === DATA_PREFIX[this.prefixPos]) this.prefixPos++;
          else if (this.prefixPos === 4 && c === COLON) state = DATA_SCAN;
          else state = c === LF ? LINE_START : SKIP_LINE;
          break;
        case DATA_SCAN:
          if (c === PIPE) {
            state = MARK_SEQ;
            this.seq = 0;
          } else if (c === LF) state = LINE_START;
          break;
        case MARK_SEQ:
          if (c >= ZERO && c <= NINE) this.seq = this.seq * 10 + (c - ZERO);
          else if (c === PIPE) {
            state = MARK_TS;
            this.sendUs = 0;
          } else state = c === LF ? LINE_START : DATA_SCAN;
          break;
        case MARK_TS:
          if (c >= ZERO && c <= NINE) this.sendUs = this.sendUs * 10 + (c - ZERO);
          else if (c === PIPE) {
            state = MARK_NODE;
            this.fromNode = 0;
          } else state = c === LF ? LINE_START : DATA_SCAN;
          break;
        case MARK_NODE:
          if (c >= ZERO && c <= NINE) this.fromNode = this.fromNode * 10 + (c - ZERO);
          else if (c === PIPE) {
            this.haveMarker = true;
            state = DATA_SCAN;
          } else state = c === LF ? LINE_START : DATA_SCAN;
          break;
      }
    }
    this.state = state;
  }

  /** A blank line ends an event: account for it if it carried our marker. */
  private dispatch(nowUs: number): void {
    if (!this.haveMarker) {
      this.eventIdA = -1;
      return;
    }
    this.haveMarker = false;
    const a = this.eventIdA;
    const b = this.eventIdB;
    this.eventIdA = -1;
    if (a >= 0) {
      if (a < this.lastIdA || (a === this.lastIdA && b <= this.lastIdB)) this.outOfOrder++;
      this.lastIdA = a;
      this.lastIdB = b;
    }
    const seq = this.seq;
    const byte = seq >>> 3;
    if (byte >= this.seen.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.seen.length * 2));
      grown.set(this.seen);
      this.seen = grown;
    }
    const bit = 1 << (seq & 7);
    if (this.seen[byte]! & bit) {
      this.duplicates++;
      return;
    }
    this.seen[byte]! |= bit;
    this.received++;
    this.sink.onDelivery(this.sendUs, this.fromNode, this.connectionNode, nowUs);
  }
}
