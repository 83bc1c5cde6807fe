// The connection router in front of the HTTP server. It reads the head of each new connection's
// first request: an event stream request the fast path accepts is served on the raw socket, so
// an idle viewer costs a socket and a few small objects instead of Node's parser, request and
// response; every other connection is handed, bytes intact, to the HTTP server (Express).
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { parseRequestHead, type RequestHead } from './request-head.js';

export interface ConnectionRouterOptions {
  maxHeadBytes: number;
  headTimeoutMs: number;
}

export function connectionRouter(
  httpServer: HttpServer,
  fastPath: (socket: Socket, head: RequestHead) => boolean,
  options: ConnectionRouterOptions,
): (socket: Socket) => void {
  return (socket) => {
    let received: Buffer | null = null;
    const timer = setTimeout(() => socket.destroy(), options.headTimeoutMs);
    const onError = () => socket.destroy();
    const onData = (chunk: Buffer) => {
      received = received ? Buffer.concat([received, chunk]) : chunk;
      const result = parseRequestHead(received, options.maxHeadBytes);
      if (result.kind === 'incomplete') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.pause();
      // Only a head with nothing after it: a pipelined request behind it needs the HTTP server.
      if (result.kind === 'head' && result.length === received.length && fastPath(socket, result.head)) {
        socket.resume();
        return;
      }
      socket.unshift(received);
      received = null;
      httpServer.emit('connection', socket);
      // The HTTP server reads the bytes given back once the socket flows again.
      socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', onError);
  };
}
