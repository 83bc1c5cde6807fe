// The connection router in front of the HTTP server: it serves a connection on the raw socket,
// request after request, for as long as every request is one a fast path takes, and hands the
// connection, unread bytes intact, to the HTTP server (Express) at the first one it does not.
// Fast requests skip Node's parser, IncomingMessage/ServerResponse and Express's router, which
// is most of the cost of a small POST; an idle viewer keeps no HTTP objects at all.
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { apiError } from '../errors.js';
import type { MessageInput } from '../broker/broker.js';
import { SocketWriter } from '../native/socket-writer.js';
import { resumeNodeReads, type LaneOwner, type PostLane } from './post-lane.js';
import { renderErrorResponse } from './raw-response.js';
import { parseRequestHead, type RequestHead } from './request-head.js';

/** A request a fast path takes whole: it reads `bodyBytes` of body, then answers. */
export interface FastRequest {
  bodyBytes: number;
  /**
   * The complete response bytes (status line to body), now or later, or null when the request
   * turns out not to be the fast path's after all (bad input, limited): it then goes to the HTTP
   * server with its bytes, so every error answer comes from one place. Null must be decided
   * synchronously, before anything is published.
   */
  answer(body: Buffer, keepAlive: boolean): string | Promise<string> | null;
}

export interface FastRoutes {
  /** A request that takes the socket for good (an event stream): how to start it, or null. */
  takeover(head: RequestHead): ((socket: Socket) => void) | null;
  /** A request answered on the connection, which then stays open for the next one. */
  request(socket: Socket, head: RequestHead): FastRequest | null;
  /** A post the native lane read and checked: its answer, at once; or null when it is not to be
   * answered here (a client over its rate limit), and the lane hands it back. */
  lanePost?(socket: Socket, stream: string, input: MessageInput, keepAlive: boolean, idMs?: number, idSeq?: number, sent?: number, answered?: boolean): string | null;
}

export interface ConnectionRouterOptions {
  maxHeadBytes: number;
  /** A request head (or body) not complete within this closes the connection. */
  headTimeoutMs: number;
  /** A kept-alive connection with nothing to do closes after this, as the HTTP server's does. */
  keepAliveTimeoutMs: number;
  /** How answers reach the socket (direct where the native part is built); socket.write by default. */
  writer?: SocketWriter;
  /** Reads kept-alive post connections in C between requests, where it is built and may be used. */
  lane?: PostLane | null;
}

export interface ConnectionRouter {
  /** The `net` server's connection listener. */
  onConnection(socket: Socket): void;
  /** Shutdown: closes the raw keep-alive connections with no request in progress (and gives
   * every connection the lane reads back to Node first, whose fast path then answers 503). */
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

interface Shared {
  httpServer: HttpServer;
  routes: FastRoutes;
  options: ConnectionRouterOptions;
  writer: SocketWriter;
  /** Raw kept-alive connections, and those between requests, so that shutdown can close them
   * (the HTTP server only knows the connections it was handed). */
  open: Set<Socket>;
  idle: Set<Socket>;
  lane: PostLane | null;
}

export function connectionRouter(httpServer: HttpServer, routes: FastRoutes, options: ConnectionRouterOptions): ConnectionRouter {
  const lane = routes.lanePost ? (options.lane ?? null) : null;
  const shared: Shared = { httpServer, routes, options, writer: options.writer ?? new SocketWriter(null), open: new Set(), idle: new Set(), lane };
  return {
    onConnection: (socket) => new RawConnection(socket, shared),
    closeIdleConnections() {
      shared.lane?.handBackAll();
      for (const socket of shared.idle) {
        const connection = (socket as RoutedSocket)[ROUTED];
        if (connection) connection.closeOnceIdle();
        else socket.destroy();
      }
    },
    closeAllConnections() {
      for (const socket of shared.open) socket.destroy();
    },
  };
}

function deadlinePassed(connection: RawConnection): void {
  connection.deadlinePassed();
}

function closeIfNothingCame(connection: RawConnection, reads: number): void {
  connection.closeIfNothingCame(reads);
}

function closeAfterAnotherPoll(connection: RawConnection, reads: number): void {
  setImmediate(closeIfNothingCame, connection, reads);
}

function writeOutgoing(connection: RawConnection): void {
  connection.writeOutgoing();
}

function destroyOnError(this: Socket): void {
  this.destroy();
}

/** Below any descriptor and SocketWriter's -1 (no direct writes). */
const NO_FD_YET = -2;

// The socket points back at its connection, so that the close listener is one function shared by
// every connection (as in sse/connection.ts) rather than a closure of each.
const ROUTED = Symbol('RawConnection');
type RoutedSocket = Socket & { [ROUTED]?: RawConnection };

function onRoutedSocketClose(this: RoutedSocket): void {
  this[ROUTED]?.closed();
}

/**
 * One raw connection until it is handed off, taken over or closed. A class with one closure, not
 * a dozen closures: most connections carry one event stream, and what they allocate before it
 * starts shows in the setup time and memory of 15,000 viewers.
 */
class RawConnection implements LaneOwner {
  private received: Buffer | null = null;
  /** Responses owed, oldest first (null until ready): publish is async, but HTTP/1.1 answers
   * pipelined requests in the order they came. */
  private readonly owed: { response: string | null }[] = [];
  /** 'hand-off': a request is not ours, the HTTP server gets the socket once `owed` is written;
   * 'close': the connection ends once `owed` is written (Connection: close, or the client left);
   * 'gone': the socket closed, and nothing more is written, armed or handed off. */
  private next: 'read' | 'hand-off' | 'close' | 'gone' = 'read';
  /** Responses written this turn, not yet handed to the socket (see write()). */
  private outgoing: string | null = null;
  /** The socket's descriptor for the writer, read at the first answer (NO_FD_YET until then). */
  private fd = NO_FD_YET;
  /** A plain timer rather than socket.setTimeout: the socket would keep the cleared timer and its
   * bound callback for its whole life, ~0.5 KB on every idle event stream. */
  private deadline: NodeJS.Timeout | null = null;
  /** What the deadline is for: a head's deadline runs from its first byte, not its last. */
  private waitingFor: 'head' | 'next request' | null = null;
  /** A request was answered since the deadline was set: the next head's deadline starts anew. */
  private answeredSinceArm = false;
  /** Set once a request was answered here: the connection may now stay open between requests. */
  private kept: { onEnd: () => void } | null = null;
  /** Chunks read so far (and posts the lane read): tells an idle deadline whether a request came
   * in the meantime. */
  private reads = 0;
  /** The post lane's slot while the lane reads this connection instead of Node, else -1. */
  private laneSlot = -1;
  /** Node held unsent bytes of this connection's answers after its last write (see writeOutgoing). */
  private posterBusy = false;
  private readonly onData = (chunk: Buffer) => this.data(chunk);

  constructor(
    private readonly socket: Socket,
    private readonly shared: Shared,
  ) {
    (socket as RoutedSocket)[ROUTED] = this;
    socket.on('data', this.onData);
    socket.on('error', destroyOnError);
    // Without it a connection that closes before its first request is complete stays referenced
    // by its head deadline, with what it sent, until the deadline passes.
    socket.on('close', onRoutedSocketClose);
    this.arm('head');
  }

  /** @internal the socket closed (the client left, reset, or a deadline destroyed it). */
  closed(): void {
    this.next = 'gone';
    this.received = null;
    // Answers still owed can no longer be written; their messages are stored all the same.
    this.owed.length = 0;
    this.outgoing = null;
    this.detach();
  }

  private data(chunk: Buffer): void {
    this.reads++;
    if (this.next !== 'read') return;
    this.received = this.received ? Buffer.concat([this.received, chunk]) : chunk;
    this.serve();
  }

  /** Takes every complete request in `received`, in order, until one is not ours. */
  private serve(): void {
    const { routes, options } = this.shared;
    while (this.next === 'read' && this.received) {
      const received = this.received;
      const result = parseRequestHead(received, options.maxHeadBytes);
      if (result.kind === 'incomplete') break;
      if (result.kind === 'other') {
        this.next = 'hand-off';
        break;
      }
      const { head, length } = result;
      const connection = head.headers.get('connection')?.toLowerCase() ?? '';
      // HTTP/1.0 keep-alive and upgrades are rare enough to leave to the HTTP server; so is an
      // HTTP/1.1 request without Host, which Node's server answers with 400, as RFC 9112 asks.
      if (connection.includes('upgrade') || (head.version === '1.0' && connection.includes('keep-alive')) || (head.version === '1.1' && !head.headers.has('host'))) {
        this.next = 'hand-off';
        break;
      }
      const keepAlive = head.version === '1.1' && !/(?:^|,)\s*close\s*(?:,|$)/.test(connection);
      // An event stream owns the socket from here on; only when nothing is owed before it and
      // nothing follows it (a request pipelined behind a stream is the HTTP server's).
      const stream = this.owed.length === 0 && length === received.length ? routes.takeover(head) : null;
      if (stream) {
        this.detach();
        this.received = null;
        // A post answered at once just before may still be waiting for the end of this tick; it
        // goes out before anything of the stream.
        this.writeOutgoing();
        stream(this.socket);
        return;
      }
      const request = routes.request(this.socket, head);
      if (!request) {
        this.next = 'hand-off';
        break;
      }
      const end = length + request.bodyBytes;
      if (received.length < end) break;
      const response = request.answer(received.subarray(length, end), keepAlive);
      if (!response) {
        this.next = 'hand-off';
        break;
      }
      this.received = received.length === end ? null : received.subarray(end);
      this.answeredSinceArm = true;
      this.keep();
      if (typeof response === 'string' && this.owed.length === 0) {
        // Answered at once (the in-process broker): no slot, no promise to wait on.
        this.write(response);
      } else {
        const slot: { response: string | null } = { response: null };
        this.owed.push(slot);
        void Promise.resolve(response).then(
          (text) => {
            slot.response = text;
            this.flush();
          },
          // answer() renders its own failures; a rejection here is a bug, and the order of the
          // responses after it could not be kept.
          () => this.socket.destroy(),
        );
      }
      if (!keepAlive) {
        // As Node's server does: nothing after a request that closes the connection is read.
        this.next = 'close';
        this.received = null;
      }
    }
    this.settle();
  }

  private flush(): void {
    if (this.next === 'gone') return;
    const { owed, socket } = this;
    while (owed.length > 0 && owed[0]!.response !== null) {
      const { response } = owed.shift()!;
      if (socket.writable) this.write(response!);
    }
    this.settle();
  }

  private write(text: string): void {
    // Responses that become ready in the same turn (pipelined posts) leave in one write. Joined
    // here rather than by cork(), which queues each write as an object of its own.
    if (this.outgoing === null) {
      this.outgoing = text;
      process.nextTick(writeOutgoing, this);
    } else {
      this.outgoing += text;
    }
  }

  /** @internal the tick scheduled by write(). */
  writeOutgoing(): void {
    const text = this.outgoing;
    this.outgoing = null;
    const { socket } = this;
    if (text === null || !socket.writable) return;
    const { writer } = this.shared;
    if (this.fd === NO_FD_YET) this.fd = writer.descriptor(socket);
    writer.writeText(socket, this.fd, text);
    // The lane answers this connection's posts only while Node holds nothing unsent of its answers.
    const busy = socket.writableLength > 0;
    if (this.laneSlot >= 0 && busy !== this.posterBusy) this.shared.lane!.setPosterBusy(this.laneSlot, busy);
    this.posterBusy = busy;
  }

  /** After each step: hand off, close, or wait for the next request (with the right deadline). */
  private settle(): void {
    if (this.next === 'gone') return;
    const { socket, shared } = this;
    // Nothing owed, nothing to hand off or close, no request begun: the last branch below. A
    // kept-alive connection answered at once stays in the idle set; taken out and put back on
    // every post, the Set would leave a hole each time and be rebuilt every few dozen posts.
    const staysIdle = this.owed.length === 0 && this.next === 'read' && !this.received;
    if (!staysIdle) shared.idle.delete(socket);
    if (this.owed.length > 0) {
      // Waiting on publish: no deadline, as the HTTP server has none (requestTimeout 0).
      this.disarm();
      // A hand-off waits with the socket paused, so later bytes and the client's FIN stay
      // queued for the HTTP server.
      if (this.next === 'hand-off') socket.pause();
      return;
    }
    if (this.next === 'hand-off') this.handOff();
    else if (this.next === 'close') {
      this.detach();
      this.writeOutgoing();
      // Nothing reads the socket any more, but a reset may still come before it closes: an
      // 'error' with no listener would take the process down. Closed once the answers are
      // written, as Node's server does, not left waiting for a FIN the client may never send.
      socket.on('error', destroyOnError);
      socket.end(() => socket.destroy());
    } else if (this.received) this.arm('head');
    else {
      this.arm('next request');
      shared.idle.add(socket);
      // Served here and now between requests: the next posts are read in C if the lane may.
      if (this.kept && this.laneSlot < 0 && shared.lane) this.adoptByLane(shared.lane, socket);
    }
  }

  private adoptByLane(lane: PostLane, socket: Socket): void {
    this.laneSlot = lane.adopt(this, socket);
    if (this.laneSlot < 0) return;
    // The lane's connection starts with its answers all written; an answer still pending here is
    // told by writeOutgoing, one Node holds unsent now is told now.
    this.posterBusy = socket.writableLength > 0;
    if (this.posterBusy) lane.setPosterBusy(this.laneSlot, true);
  }

  /** What the kernel did not take of the lane's answers: nothing of ours is queued before it (the
   * lane answers only then), and the lane answers nothing more till Node has written it. */
  laneAnswerRest(rest: Buffer): void {
    this.posterBusy = true;
    if (this.socket.writable) this.socket.write(rest);
  }

  /** A post the lane read on this connection (see http/post-lane.ts), checked as the route checks. */
  lanePost(stream: string, author: string, text: string, keepAlive: boolean, idMs?: number, idSeq?: number, sent?: number, answered?: boolean): boolean {
    this.reads++;
    const { socket, shared } = this;
    // A socket destroyed meanwhile (a write failed) still has its posts of this read published,
    // as serve() publishes every request of a chunk before any answer is written.
    if (this.next !== 'read') {
      // One the lane wrote to viewers already is published whatever became of its poster.
      if (idMs !== undefined) shared.routes.lanePost!(socket, stream, { author, text }, keepAlive, idMs, idSeq, sent, true);
      return true;
    }
    const response = shared.routes.lanePost!(socket, stream, { author, text }, keepAlive, idMs, idSeq, sent, answered === true);
    if (response === null) return false;
    if (answered && response !== '') {
      // The lane answered 201 and the publish then failed (never expected: the error is logged):
      // the connection ends, as the answer cannot be taken back.
      socket.destroy();
      return true;
    }
    this.answeredSinceArm = true;
    if (!answered) this.write(response);
    if (!keepAlive) this.next = 'close';
    this.settle();
    return true;
  }

  /** The lane stopped reading this connection: Node reads it again, from `rest`. */
  laneHandBack(rest: Buffer | undefined): void {
    this.laneSlot = -1;
    resumeNodeReads(this.socket);
    if (rest) this.data(rest);
  }

  private handOff(): void {
    const { socket } = this;
    // Destroyed with its 'close' still to come (closed() then forgets it): nothing to hand off.
    if (socket.destroyed) return;
    const rest = this.received;
    this.received = null;
    this.detach();
    this.writeOutgoing();
    socket.pause();
    if (rest && rest.length > 0) socket.unshift(rest);
    this.shared.httpServer.emit('connection', socket);
    // The HTTP server reads the bytes given back once the socket flows again.
    socket.resume();
  }

  private keep(): void {
    if (this.kept) return;
    // The client half-closed. allowHalfOpen is off, so Node ends our side once buffered writes
    // are out; a response not ready by then is dropped as the HTTP server drops it (its message
    // is stored all the same).
    const onEnd = () => {
      this.next = 'close';
      this.settle();
    };
    this.kept = { onEnd };
    this.shared.open.add(this.socket);
    this.socket.on('end', onEnd);
  }

  private detach(): void {
    const { socket, kept } = this;
    this.disarm();
    if (this.laneSlot >= 0) {
      this.shared.lane!.release(this.laneSlot);
      this.laneSlot = -1;
      // Closing: Node reads and drops what still comes, as it would have, so that the close is a
      // FIN after the last answer rather than a reset for unread bytes.
      resumeNodeReads(socket);
    }
    socket.off('data', this.onData);
    socket.off('error', destroyOnError);
    socket.off('close', onRoutedSocketClose);
    (socket as RoutedSocket)[ROUTED] = undefined;
    if (!kept) return;
    this.shared.idle.delete(socket);
    this.shared.open.delete(socket);
    socket.off('end', kept.onEnd);
  }

  private arm(what: 'head' | 'next request'): void {
    const restart = this.answeredSinceArm;
    this.answeredSinceArm = false;
    if (this.waitingFor === what) {
      // After an answer both start again: the idle one from the answer, the next head's from
      // about its first byte. A head still arriving, with no answer since, keeps its deadline.
      if (restart) this.deadline!.refresh();
      return;
    }
    if (this.deadline) clearTimeout(this.deadline);
    const { options } = this.shared;
    this.waitingFor = what;
    this.deadline = setTimeout(deadlinePassed, what === 'head' ? options.headTimeoutMs : options.keepAliveTimeoutMs, this);
    this.deadline.unref();
  }

  /** @internal the deadline armed last passed. */
  deadlinePassed(): void {
    // A head that is still not complete is cut as it is, whatever is arriving, with the answer
    // the HTTP server gives a head that takes too long. Nothing is owed while a head is awaited.
    if (this.waitingFor !== 'next request') {
      this.next = 'close';
      this.received = null;
      this.write(renderErrorResponse(apiError('request_timeout')));
      this.settle();
      return;
    }
    // Timers run before the event loop reads sockets: a request the client sent just before the
    // keep-alive deadline may be unread in the kernel yet, and closing now would reset it (the
    // client gets ECONNRESET for a post it sent in time; seen in bench cross-node, once in most
    // runs). Read what came first: a request that did is served, and re-arms the deadline.
    setImmediate(closeIfNothingCame, this, this.reads);
  }

  /**
   * Shutdown: closes the connection unless a request is in the kernel already. A client may have
   * sent one just as the node began to stop; destroyed unread, it would get ECONNRESET and could
   * not tell whether its post was taken. Read first, it gets an answer (503 while stopping).
   */
  closeOnceIdle(): void {
    // Two turns: called from a socket's callback, this turn's poll for reads is already over.
    setImmediate(closeAfterAnotherPoll, this, this.reads);
  }

  /** @internal one turn after an idle deadline passed. */
  closeIfNothingCame(reads: number): void {
    if (this.reads === reads && this.next === 'read') this.socket.destroy();
  }

  private disarm(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
    this.waitingFor = null;
  }
}
