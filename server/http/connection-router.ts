// The connection router in front of the HTTP server: it serves a connection on the raw socket,
// request after request, for as long as every request is one a fast path takes, and hands the
// connection, unread bytes intact, to the HTTP server (Express) at the first one it does not.
// Fast requests skip Node's parser, IncomingMessage/ServerResponse and Express's router, which
// is most of the cost of a small POST; an idle viewer keeps no HTTP objects at all.
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { parseRequestHead, type RequestHead } from './request-head.js';

/** A request a fast path takes whole: it reads `bodyBytes` of body, then answers. */
export interface FastRequest {
  bodyBytes: number;
  /**
   * The complete response bytes (status line to body), or null when the request turns out not
   * to be the fast path's after all (bad input, limited): it then goes to the HTTP server with
   * its bytes, so every error answer comes from one place. Null must be decided synchronously,
   * before anything is published.
   */
  answer(body: Buffer, keepAlive: boolean): Promise<string> | null;
}

export interface FastRoutes {
  /** A request that takes the socket for good (an event stream): how to start it, or null. */
  takeover(head: RequestHead): ((socket: Socket) => void) | null;
  /** A request answered on the connection, which then stays open for the next one. */
  request(socket: Socket, head: RequestHead): FastRequest | null;
}

export interface ConnectionRouterOptions {
  maxHeadBytes: number;
  /** A request head (or body) not complete within this closes the connection. */
  headTimeoutMs: number;
  /** A kept-alive connection with nothing to do closes after this, as the HTTP server's does. */
  keepAliveTimeoutMs: number;
}

export interface ConnectionRouter {
  /** The `net` server's connection listener. */
  onConnection(socket: Socket): void;
  /** Shutdown: closes the raw keep-alive connections with no request in progress. */
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

export function connectionRouter(httpServer: HttpServer, routes: FastRoutes, options: ConnectionRouterOptions): ConnectionRouter {
  // Raw connections, and those between requests, so that shutdown can close them (the HTTP
  // server only knows the connections it was handed).
  const open = new Set<Socket>();
  const idle = new Set<Socket>();

  const onConnection = (socket: Socket) => {
    let received: Buffer | null = null;
    // Responses owed, oldest first (null until ready): publish is async, but HTTP/1.1 answers
    // pipelined requests in the order they came.
    const owed: { response: string | null }[] = [];
    // 'hand-off': a request is not ours, the HTTP server gets the socket once `owed` is written;
    // 'close': the connection ends once `owed` is written (Connection: close, or the client left).
    let next: 'read' | 'hand-off' | 'close' = 'read';
    let corked = false;

    const onTimeout = () => socket.destroy();
    const onError = () => socket.destroy();
    // The client half-closed. allowHalfOpen is off, so Node ends our side once buffered writes
    // are out; a response not ready by then is dropped as the HTTP server drops it (its message
    // is stored all the same).
    const onEnd = () => {
      next = 'close';
      settle();
    };
    const onData = (chunk: Buffer) => {
      if (next !== 'read') return;
      received = received ? Buffer.concat([received, chunk]) : chunk;
      serve();
    };
    const attach = () => {
      open.add(socket);
      socket.on('data', onData);
      socket.on('error', onError);
      socket.on('end', onEnd);
      socket.on('close', detach);
      socket.on('timeout', onTimeout);
    };
    function detach() {
      idle.delete(socket);
      open.delete(socket);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.off('close', detach);
      socket.off('timeout', onTimeout);
      socket.setTimeout(0);
    }

    const handOff = () => {
      const rest = received;
      received = null;
      detach();
      socket.pause();
      if (rest && rest.length > 0) socket.unshift(rest);
      httpServer.emit('connection', socket);
      // The HTTP server reads the bytes given back once the socket flows again.
      socket.resume();
    };

    /** After each step: hand off, close, or wait for the next request (with the right deadline). */
    const settle = () => {
      idle.delete(socket);
      if (owed.length > 0) {
        // Waiting on publish: no deadline, as the HTTP server has none (requestTimeout 0).
        socket.setTimeout(0);
        // A hand-off waits with the socket paused, so later bytes and the client's FIN stay
        // queued for the HTTP server.
        if (next === 'hand-off') socket.pause();
        return;
      }
      if (next === 'hand-off') handOff();
      else if (next === 'close') {
        detach();
        socket.end();
      } else if (received) socket.setTimeout(options.headTimeoutMs);
      else {
        socket.setTimeout(options.keepAliveTimeoutMs);
        idle.add(socket);
      }
    };

    const write = (text: string) => {
      // Responses that become ready in the same turn (pipelined posts) leave in one write.
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      socket.write(text);
    };

    const flush = () => {
      while (owed.length > 0 && owed[0]!.response !== null) {
        const { response } = owed.shift()!;
        if (socket.writable) write(response!);
      }
      settle();
    };

    /** Takes every complete request in `received`, in order, until one is not ours. */
    const serve = () => {
      while (next === 'read' && received) {
        const result = parseRequestHead(received, options.maxHeadBytes);
        if (result.kind === 'incomplete') break;
        if (result.kind === 'other') {
          next = 'hand-off';
          break;
        }
        const { head, length } = result;
        const connection = head.headers.get('connection')?.toLowerCase() ?? '';
        // HTTP/1.0 keep-alive and upgrades are rare enough to leave to the HTTP server.
        if (connection.includes('upgrade') || (head.version === '1.0' && connection.includes('keep-alive'))) {
          next = 'hand-off';
          break;
        }
        const keepAlive = head.version === '1.1' && !/(?:^|,)\s*close\s*(?:,|$)/.test(connection);
        // An event stream owns the socket from here on; only when nothing is owed before it and
        // nothing follows it (a request pipelined behind a stream is the HTTP server's).
        const stream = owed.length === 0 && length === received.length ? routes.takeover(head) : null;
        if (stream) {
          detach();
          received = null;
          stream(socket);
          return;
        }
        const request = routes.request(socket, head);
        if (!request) {
          next = 'hand-off';
          break;
        }
        const end = length + request.bodyBytes;
        if (received.length < end) break;
        const response = request.answer(received.subarray(length, end), keepAlive);
        if (!response) {
          next = 'hand-off';
          break;
        }
        received = received.length === end ? null : received.subarray(end);
        const slot: { response: string | null } = { response: null };
        owed.push(slot);
        response.then(
          (text) => {
            slot.response = text;
            flush();
          },
          // answer() renders its own failures; a rejection here is a bug, and the order of the
          // responses after it could not be kept.
          () => socket.destroy(),
        );
        if (!keepAlive) {
          // As Node's server does: nothing after a request that closes the connection is read.
          next = 'close';
          received = null;
        }
      }
      settle();
    };

    attach();
    socket.setTimeout(options.headTimeoutMs);
  };

  return {
    onConnection,
    closeIdleConnections() {
      for (const socket of idle) socket.destroy();
    },
    closeAllConnections() {
      for (const socket of open) socket.destroy();
    },
  };
}
