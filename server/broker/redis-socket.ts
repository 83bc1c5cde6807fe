// What the node's own Redis sockets share (direct-publisher.ts, direct-subscriber.ts): how one is
// opened to a `host:port`, its replies read off the wire, and the deadlines that cut it when its
// master stops answering or it has long had nothing to do.
import { connect, type Socket } from 'node:net';
import { ReplyReader, type Reply } from './resp.js';

export const CONNECT_TIMEOUT_MS = 2000;
/** Silence with a reply owed for this long means the master is gone or stuck: the socket is cut. */
export const REPLY_TIMEOUT_MS = 3000;
/** A socket with nothing left to do (its master lost its slots, the node went quiet) closes after this. */
export const IDLE_CLOSE_MS = 60_000;
const IDLE_CHECK_MS = 5000;

export interface SocketOwner {
  /**
   * The replies completed by one chunk, in order. A throw (as the reader's own, on bytes that are
   * not RESP2) means the connection can no longer be trusted: it becomes an onFailure.
   */
  onReplies(replies: Reply[]): void;
  /** True while a reply is owed: silence then means the master is gone or stuck. */
  owesReply(): boolean;
  /** Since when the socket has had nothing to do, or null while it is in use. */
  idleSince(): number | null;
  /** An error, a deadline passed, or the end of the connection; may come more than once. */
  onFailure(error: Error): void;
  /** Idle for IDLE_CLOSE_MS: the owner closes it. */
  onIdle(): void;
  /** Nothing sent or received for IDLE_CHECK_MS on a socket still in use (idleSince null). */
  onQuiet?(): void;
}

export interface RedisSocket {
  socket: Socket;
  readonly connected: boolean;
  /**
   * Called on each command sent: from then on, REPLY_TIMEOUT_MS without a byte from Redis while
   * the owner still owes a reply is a failure. Only what Redis sends counts, not what we write:
   * a socket's own timeout counts writes too, and a master that stopped reading would never be
   * cut while posts kept coming.
   */
  expectReply(): void;
}

export function openRedisSocket(address: string, owner: SocketOwner): RedisSocket {
  const at = address.lastIndexOf(':');
  const socket = connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)), noDelay: true });
  const reader = new ReplyReader();
  let connected = false;
  let replyTimer: NodeJS.Timeout | null = null;
  const replyOverdue = () => {
    replyTimer = null;
    if (owner.owesReply()) owner.onFailure(new Error(`no reply from ${address} in ${REPLY_TIMEOUT_MS} ms`));
  };
  socket.setTimeout(CONNECT_TIMEOUT_MS);
  socket.on('connect', () => {
    connected = true;
    socket.setTimeout(IDLE_CHECK_MS);
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      owner.onReplies(reader.push(chunk));
    } catch (error) {
      owner.onFailure(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (!replyTimer) return;
    if (owner.owesReply()) replyTimer.refresh();
    else {
      clearTimeout(replyTimer);
      replyTimer = null;
    }
  });
  socket.on('timeout', () => {
    if (!connected) return owner.onFailure(new Error(`connecting to ${address} timed out`));
    const since = owner.idleSince();
    if (since !== null && Date.now() - since >= IDLE_CLOSE_MS) return owner.onIdle();
    // A socket's timeout fires once per quiet spell: armed again for the next one.
    socket.setTimeout(IDLE_CHECK_MS);
    if (since === null) owner.onQuiet?.();
  });
  socket.on('error', (error) => owner.onFailure(error));
  socket.on('close', () => {
    if (replyTimer) clearTimeout(replyTimer);
    replyTimer = null;
    owner.onFailure(new Error(`connection to ${address} closed`));
  });
  return {
    socket,
    get connected() {
      return connected;
    },
    expectReply() {
      replyTimer ??= setTimeout(replyOverdue, REPLY_TIMEOUT_MS);
    },
  };
}
