// SseConnection: one viewer's event stream on its socket. Sends the response head, then writes
// queued frames straight to the socket (no chunked encoding, one write per flush), and cuts off a
// viewer whose unsent bytes pass the slow-client bound; that viewer reconnects and resumes by id.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { encodePreamble, RAW_RESPONSE_HEAD, SSE_HEADERS } from './frame.js';
import type { Flushable, WriteScheduler } from './write-scheduler.js';

export interface SseConnectionOptions {
  retryMs: number;
  slowClientBytes: number;
}

export type CloseReason = 'client' | 'slow' | 'server' | 'error';

/** Writes the response head and the preamble; once, when the stream opens. */
export type HeadWriter = (preamble: Buffer) => void;

/** The head written through Node's HTTP response (a request that came through Express). */
export function viaResponse(response: ServerResponse): HeadWriter {
  return (preamble) => {
    // Without chunked encoding the body is the raw frames and ends when the socket closes; Node
    // then says `Connection: close`, which an event stream is anyway.
    response.useChunkedEncodingByDefault = false;
    response.writeHead(200, SSE_HEADERS);
    response.write(preamble);
  };
}

/** The head written as raw bytes (a request taken by the fast path, with no HTTP objects). */
export function viaSocket(socket: Socket): HeadWriter {
  return (preamble) => {
    socket.write(Buffer.concat([RAW_RESPONSE_HEAD, preamble]));
  };
}

export class SseConnection implements Flushable {
  private socket: Socket | null;
  private writeHead: HeadWriter | null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private closeListeners: ((reason: CloseReason) => void)[] = [];
  private closing: CloseReason | null = null;
  private opened = false;

  constructor(
    socket: Socket,
    writeHead: HeadWriter,
    private readonly options: SseConnectionOptions,
    private readonly scheduler: WriteScheduler,
  ) {
    this.socket = socket;
    this.writeHead = writeHead;
    // 'close' fires when the peer goes away, before or after open().
    socket.once('close', () => this.finish('client'));
  }

  /**
   * Sends the head and the preamble. Separate from the constructor so that the node can still
   * answer with an error status if subscribing to the stream fails.
   */
  open(): void {
    const { socket, writeHead } = this;
    if (!socket || !writeHead || this.opened || socket.destroyed) return;
    this.opened = true;
    this.writeHead = null;
    writeHead(encodePreamble(this.options.retryMs));
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('error', () => this.finish('error'));
  }

  get isOpen(): boolean {
    return this.socket !== null && this.closing === null && !this.socket.destroyed;
  }

  get isStarted(): boolean {
    return this.opened;
  }

  /** Queues a frame; the scheduler writes everything queued in one go at the end of this turn. */
  send(frame: Buffer): void {
    const socket = this.socket;
    if (!socket || this.closing || !this.opened) return;
    if (socket.writableLength + this.pendingBytes + frame.length > this.options.slowClientBytes) {
      this.destroy('slow');
      return;
    }
    if (this.pending.length === 0) this.scheduler.mark(this);
    this.pending.push(frame);
    this.pendingBytes += frame.length;
  }

  flush(): void {
    const socket = this.socket;
    if (!socket || this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    socket.write(data);
  }

  /** Bytes queued or handed to the socket but not yet sent. */
  get backlogBytes(): number {
    return (this.socket?.writableLength ?? 0) + this.pendingBytes;
  }

  /** Writes what is queued now and resolves once the socket has sent it (or closed). */
  async drain(): Promise<void> {
    this.flush();
    const socket = this.socket;
    if (!socket || socket.writableLength === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /** Ends the stream cleanly after what is queued, so the client reconnects (elsewhere). */
  end(): void {
    const socket = this.socket;
    if (!socket || this.closing) return;
    this.flush();
    this.closing = 'server';
    socket.end();
  }

  onClose(listener: (reason: CloseReason) => void): void {
    this.closeListeners.push(listener);
  }

  private destroy(reason: CloseReason): void {
    const socket = this.socket;
    if (!socket) return;
    this.closing = reason;
    this.pending = [];
    this.pendingBytes = 0;
    socket.destroy();
    this.finish(reason);
  }

  private finish(reason: CloseReason): void {
    if (!this.socket) return;
    this.socket = null;
    this.writeHead = null;
    this.pending = [];
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const listener of listeners) listener(this.closing ?? reason);
  }
}
