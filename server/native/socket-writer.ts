// Writes to a socket's descriptor directly (socket-writer.c), for a node's most frequent writes: a
// frame to each viewer and a stream's opening bytes (Buffers made once and shared by many
// viewers), and the answer to each post, a string, encoded into the C side's stack rather than
// into a Buffer (callgrind: making it a Buffer first cost 1,600 instructions more per post than
// the direct write saved). Node's socket.write costs about 1 us of JavaScript and C++ per call on
// top of the system call; direct, about 0.2, and no garbage per write (bench fan-out @10/s: CPU
// per delivery 10.1 / 9.7 / 10.6 us through socket.write, 9.0 / 9.6 / 8.5 direct, alternated).
// The viewers of one frame are written in one call (writeShared, then commit: sendMany), which
// saves each of them a call into C and its argument checks: about 300 instructions a viewer
// (bench:instructions, rooms, 5 viewers a frame: 61,197 per post before, 59,345 and 59,818 after).
// Order is kept by going direct only while Node holds nothing unsent for the socket: whatever the
// kernel does not take goes to socket.write, which queues it, and the socket stays on socket.write
// until that drains. An error closes the socket as Node's own write would ('error', then 'close').
import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { loadAddon } from './addon.js';

/** What socket-writer.c exports. */
export interface SocketWriterCalls {
  /** Bytes the kernel took (0 when its buffer is full for now), or -errno. Never blocks. */
  send(fd: number, bytes: Uint8Array): number;
  /** The text's UTF-8 bytes the kernel did not take (0: all), or -errno. At most textMaxUnits long. */
  sendText(fd: number, text: string): number;
  /** The longest text (in UTF-16 code units) sendText encodes on its stack. */
  readonly textMaxUnits: number;
  /** send() of the same bytes to fds[0..count), each outcome into results[i]. */
  sendMany(fds: Int32Array, count: number, bytes: Uint8Array, results: Int32Array): void;
}

export type SocketWriterOutcome = { kind: 'direct'; calls: SocketWriterCalls } | { kind: 'socket.write'; reason: string };

/** socket-writer.c's calls, or why writes go through socket.write only. */
export function loadSocketWriter(): SocketWriterOutcome {
  const loaded = loadAddon<SocketWriterCalls>('socket_writer');
  return 'calls' in loaded ? { kind: 'direct', calls: loaded.calls } : { kind: 'socket.write', reason: loaded.reason };
}

/** A plain TCP (or Unix) socket's libuv handle: its descriptor is the socket's own bytes. */
interface HandleWithFd {
  fd?: number;
}

/** Writes bytes to sockets, directly where it can, else with socket.write. */
export class SocketWriter {
  /** Shared bytes held for several sockets by writeShared(), sent by commit(). */
  private heldBytes: Buffer | null = null;
  private heldSockets: (Socket | null)[] = [];
  private heldFds = new Int32Array(64);
  private heldResults = new Int32Array(64);
  private heldCount = 0;

  constructor(private readonly calls: SocketWriterCalls | null) {}

  /**
   * As write(), for bytes many sockets get in a row (a frame to a stream's viewers): held, and
   * sent to all of them in one call by commit() (or by the next writeShared() of other bytes).
   * The caller commits before anything else may write to these sockets.
   */
  writeShared(socket: Socket, fd: number, bytes: Buffer): void {
    if (!canGoDirect(socket, fd)) {
      this.write(socket, fd, bytes);
      return;
    }
    if (bytes !== this.heldBytes) {
      this.commit();
      this.heldBytes = bytes;
    }
    if (this.heldCount === this.heldFds.length) {
      const fds = new Int32Array(this.heldCount * 2);
      fds.set(this.heldFds);
      this.heldFds = fds;
      this.heldResults = new Int32Array(this.heldCount * 2);
    }
    this.heldSockets[this.heldCount] = socket;
    this.heldFds[this.heldCount++] = fd;
  }

  /** Sends what writeShared() holds. */
  commit(): void {
    const bytes = this.heldBytes;
    const count = this.heldCount;
    if (bytes === null || count === 0) return;
    this.heldBytes = null;
    this.heldCount = 0;
    const results = this.heldResults;
    this.calls!.sendMany(this.heldFds, count, bytes, results);
    for (let i = 0; i < count; i++) afterSend(this.heldSockets[i]!, bytes, results[i]!);
    this.heldSockets.fill(null, 0, count);
  }

  /**
   * The descriptor that write() sends to, for the caller to keep: reading it is a call into C++,
   * which cost about 1% of a node's CPU in bench rooms when made on every write. -1 where bytes
   * must go through socket.write: no addon, a TLS socket (its descriptor carries the encrypted
   * stream), or no descriptor. It stays the socket's for as long as the socket is writable, which
   * write() checks before each use: once destroyed, the number may already be another connection's.
   */
  descriptor(socket: Socket): number {
    if (this.calls === null || (socket as { encrypted?: boolean }).encrypted) return -1;
    const fd = ((socket as unknown as { _handle: HandleWithFd | null })._handle)?.fd;
    return typeof fd === 'number' && fd >= 0 ? fd : -1;
  }

  /** @param fd what descriptor() gave for this socket */
  write(socket: Socket, fd: number, bytes: Buffer): void {
    if (canGoDirect(socket, fd)) afterSend(socket, bytes, this.calls!.send(fd, bytes));
    else socket.write(bytes);
  }

  /** As write(), for a text sent as UTF-8. */
  writeText(socket: Socket, fd: number, text: string): void {
    if (canGoDirect(socket, fd) && text.length <= this.calls!.textMaxUnits) {
      const left = this.calls!.sendText(fd, text);
      if (left === 0) return;
      if (left < 0) {
        sendFailed(socket, left);
        return;
      }
      const bytes = Buffer.from(text, 'utf8');
      socket.write(bytes.subarray(bytes.length - left));
      return;
    }
    socket.write(text);
  }
}

function canGoDirect(socket: Socket, fd: number): boolean {
  // writableLength counts every byte Node was given and the kernel has not taken yet, in its
  // own queue or in libuv's (and what a cork holds): with any, a direct write would overtake
  // them. Not writable: ended (its FIN may still be queued) or destroyed.
  return fd >= 0 && socket.writableLength === 0 && socket.writable;
}

/** After send(2) took `sent` of `bytes` (or failed with -errno): the rest to Node, or the error. */
export function afterSend(socket: Socket, bytes: Buffer, sent: number): void {
  if (sent === bytes.length) return;
  if (sent < 0) sendFailed(socket, sent);
  else socket.write(sent > 0 ? bytes.subarray(sent) : bytes);
}

/** A send that failed with -errno closes the socket with the error. */
export function sendFailed(socket: Socket, negativeErrno: number): void {
  // As Node's own write reports it: send(2) has taken the socket's pending error (a reset peer),
  // and a write after it would only see EPIPE.
  socket.destroy(writeError(negativeErrno));
}

/** An error as Node's stream writes make them (`write ECONNRESET`, code, errno, syscall). */
function writeError(negativeErrno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(negativeErrno);
  return Object.assign(new Error(`write ${code}`), { code, errno: negativeErrno, syscall: 'write' });
}
