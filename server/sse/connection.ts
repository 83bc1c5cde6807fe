// SseConnection: one viewer's event stream on its socket. Sends the response head, then writes
// queued frames straight to the socket (no chunked encoding, one write per flush), and cuts off a
// viewer whose unsent bytes pass the slow-client bound; that viewer reconnects and resumes by id.
import type { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { httpDate } from '../http/raw-response.js';
import { afterSend, sendFailed } from '../native/socket-writer.js';
import { encodePreamble, rawResponseHead, SSE_HEADERS } from './frame.js';
import type { Flushable, WriteScheduler } from './write-scheduler.js';

export interface SseConnectionOptions {
  retryMs: number;
  slowClientBytes: number;
}

export type CloseReason = 'client' | 'slow' | 'server' | 'error';

/** Told once when the connection closes, whoever closed it. */
export interface CloseListener {
  connectionClosed(reason: CloseReason): void;
}

// The socket points back at its connection, so the socket's listeners are two functions shared by
// every viewer instead of closures of each one's own: memory is per idle viewer here.
const CONNECTION = Symbol('SseConnection');
type ConnectionSocket = Socket & { [CONNECTION]?: SseConnection };

/**
 * How the response head goes out: through Node's HTTP response (a request that came through
 * Express), or as raw bytes on the socket (a request the fast path took, with no HTTP objects).
 */
export type ResponseHead = ServerResponse | 'raw';

/** Head and preamble as raw bytes, made once per second (the Date) and retry value: the viewers
 * opening within a second share one buffer. */
let rawOpening: { retryMs: number; date: string; bytes: Buffer } | null = null;

type DestroyFunction = (this: Socket, error: Error | null, callback: (error?: Error | null) => void) => void;
const socketDestroy = (Socket.prototype as unknown as { _destroy: DestroyFunction })._destroy;

/**
 * A watched viewer's socket's _destroy: its clean flag drops before the descriptor closes. Node
 * closes it here and says 'close' only in a later phase of the loop, when the number may already
 * be a new connection's, which the lane must never write to.
 */
function destroyWatched(this: ConnectionSocket, error: Error | null, callback: (error?: Error | null) => void): void {
  this[CONNECTION]?.laneDirty();
  socketDestroy.call(this, error, callback);
}

function rawOpeningBytes(retryMs: number): Buffer {
  const date = httpDate(Date.now());
  if (rawOpening?.retryMs !== retryMs || rawOpening.date !== date) {
    rawOpening = { retryMs, date, bytes: Buffer.concat([Buffer.from(rawResponseHead(date), 'latin1'), encodePreamble(retryMs)]) };
  }
  return rawOpening.bytes;
}

export class SseConnection implements Flushable {
  private socket: Socket | null;
  private head: ResponseHead | null;
  // The frames queued this turn: usually one, so the first has a field of its own and a viewer
  // allocates nothing per message (an array per send made every fan-out feed the GC).
  private pendingFirst: Buffer | null = null;
  private pendingMore: Buffer[] | null = null;
  private pendingBytes = 0;
  private closeListener: CloseListener | null = null;
  private closing: CloseReason | null = null;
  private opened = false;
  /** The socket's descriptor for direct writes, read at open() (see SocketWriter.descriptor). */
  private fd = -1;
  /** The scheduler's epoch at the last write: how long this viewer has been idle. */
  lastWriteEpoch = 0;
  /** Its watch id where the post lane writes to it too (LaneRooms), else -1. */
  private watch = -1;

  constructor(
    socket: Socket,
    head: ResponseHead,
    private readonly options: SseConnectionOptions,
    private readonly scheduler: WriteScheduler,
  ) {
    this.socket = socket;
    this.head = head;
    (socket as ConnectionSocket)[CONNECTION] = this;
    // 'close' fires when the peer goes away, before or after open(); so may 'error' (a reset while
    // the viewer waits for its stream's subscription), which with no listener would crash.
    socket.on('close', SseConnection.onSocketClose);
    socket.on('error', SseConnection.onSocketError);
  }

  private static onSocketClose(this: ConnectionSocket): void {
    this[CONNECTION]?.finish('client');
  }

  private static onSocketError(this: ConnectionSocket): void {
    this[CONNECTION]?.finish('error');
  }

  /**
   * Sends the head and the preamble. Separate from the constructor so that the node can still
   * answer with an error status if subscribing to the stream fails.
   */
  open(): void {
    const { socket, head } = this;
    if (!socket || !head || this.opened || socket.destroyed) return;
    this.opened = true;
    this.head = null;
    this.lastWriteEpoch = this.scheduler.epoch;
    const { writer } = this.scheduler;
    this.fd = writer.descriptor(socket);
    if (head === 'raw') {
      writer.write(socket, this.fd, rawOpeningBytes(this.options.retryMs));
    } else {
      // Without chunked encoding the body is the raw frames and ends when the socket closes; Node
      // then says `Connection: close`, which an event stream is anyway.
      head.useChunkedEncodingByDefault = false;
      head.writeHead(200, SSE_HEADERS);
      head.write(encodePreamble(this.options.retryMs));
    }
    // Frames go out as they are written: the server sets TCP_NODELAY on every connection it
    // accepts (node.ts). No TCP keepalive: the heartbeat already writes to every idle viewer, which
    // reveals a dead peer, and two more syscalls per viewer slowed setting up 15,000 of them.
  }

  get isOpen(): boolean {
    return this.socket !== null && this.closing === null && !this.socket.destroyed;
  }

  get isStarted(): boolean {
    return this.opened;
  }

  /** The descriptor direct writes go to (-1: none, or not open yet). */
  get descriptor(): number {
    return this.fd;
  }

  /** The post lane writes to this viewer too, under this watch id, whenever its flag says clean. */
  laneWatched(watch: number): void {
    this.watch = watch;
    const socket = this.socket;
    if (socket) (socket as unknown as { _destroy: DestroyFunction })._destroy = destroyWatched;
    this.settled();
  }

  /** The lane no longer writes to it (LaneRooms.unwatch dropped its flag). */
  laneUnwatched(): void {
    this.watch = -1;
  }

  /** The lane must not write to it now: something is queued or unsent, or it is closing. */
  laneDirty(): void {
    if (this.watch >= 0) this.scheduler.laneRooms!.clean[this.watch] = 0;
  }

  /** After the scheduler's writes: clean again if all of it went and nothing else waits. */
  settled(): void {
    const socket = this.socket;
    if (this.watch < 0 || !socket || this.closing || !socket.writable || this.pendingFirst !== null || socket.writableLength !== 0) return;
    this.scheduler.laneRooms!.clean[this.watch] = 1;
  }

  /**
   * The lane wrote a frame to it: `outcome` bytes of `frame` the kernel did not take (0: all),
   * or -errno (`frame` is needed for a rest only). The rest goes to Node's write, as SocketWriter does.
   */
  laneWrote(outcome: number, frame: Buffer | null): void {
    const socket = this.socket;
    this.lastWriteEpoch = this.scheduler.epoch;
    if (outcome === 0 || !socket) return;
    this.laneDirty();
    if (outcome < 0) sendFailed(socket, outcome);
    else afterSend(socket, frame!, frame!.length - outcome);
  }

  /** Queues a frame; the scheduler writes everything queued in one go at the end of this turn. */
  send(frame: Buffer): void {
    const socket = this.socket;
    if (!socket || this.closing || !this.opened) return;
    if (this.wouldPassSlowBound(frame.length)) {
      this.destroy('slow');
      return;
    }
    if (this.pendingFirst === null) {
      this.pendingFirst = frame;
      this.laneDirty();
      this.scheduler.mark(this);
    } else if (this.pendingMore === null) {
      this.pendingMore = [this.pendingFirst, frame];
    } else {
      this.pendingMore.push(frame);
    }
    this.pendingBytes += frame.length;
  }

  /** @param together by the scheduler, which commits the writer's held writes before anything else writes */
  flush(together = false): void {
    const socket = this.socket;
    const first = this.pendingFirst;
    if (!socket || first === null) return;
    const shared = this.pendingMore === null;
    const data = shared ? first : Buffer.concat(this.pendingMore!, this.pendingBytes);
    this.dropPending();
    this.lastWriteEpoch = this.scheduler.epoch;
    // One frame alone is the one every viewer of the message gets: sent to them together.
    if (shared && together) this.scheduler.writer.writeShared(socket, this.fd, data);
    else this.scheduler.writer.write(socket, this.fd, data);
  }

  private dropPending(): void {
    this.pendingFirst = null;
    this.pendingMore = null;
    this.pendingBytes = 0;
  }

  /** Whether `extraBytes` more than what is queued now would pass the slow-viewer bound. */
  wouldPassSlowBound(extraBytes: number): boolean {
    return this.backlogBytes + extraBytes > this.options.slowClientBytes;
  }

  /** Cuts the viewer off, as too slow by default (it reconnects and resumes by id). */
  cutOff(reason: CloseReason = 'slow'): void {
    if (this.socket && !this.closing) this.destroy(reason);
  }

  /** Bytes queued or handed to the socket but not yet sent. */
  get backlogBytes(): number {
    return (this.socket?.writableLength ?? 0) + this.pendingBytes;
  }

  /** Writes what is queued now and resolves once the socket has sent it (or closed). */
  async drain(): Promise<void> {
    this.flush();
    const socket = this.socket;
    // Without needDrain Node emits no 'drain' for what is still queued: waiting would never end.
    if (!socket || socket.writableLength === 0 || !socket.writableNeedDrain) return;
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
    this.laneDirty();
    socket.end();
  }

  /** Sets the one listener told when the connection closes (the Hub's viewer). */
  onClose(listener: CloseListener): void {
    this.closeListener = listener;
  }

  private destroy(reason: CloseReason): void {
    const socket = this.socket;
    if (!socket) return;
    this.closing = reason;
    this.dropPending();
    // A watched socket's _destroy drops its clean flag (destroyWatched).
    socket.destroy();
    this.finish(reason);
  }

  private finish(reason: CloseReason): void {
    const socket = this.socket as ConnectionSocket | null;
    if (!socket) return;
    this.socket = null;
    socket[CONNECTION] = undefined;
    this.head = null;
    this.dropPending();
    const listener = this.closeListener;
    this.closeListener = null;
    listener?.connectionClosed(this.closing ?? reason);
  }
}
