// Requests Node's HTTP parser rejects (a malformed head, one too large, a bare LF...) answered as
// every other API error is: a catalogue code in a JSON body, then the connection closes. Node's
// default answer is a bare status line with no body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { apiError, type ErrorCode } from '../errors.js';
import { renderErrorResponse } from './raw-response.js';

/** Node's mapping of parser errors to statuses, onto the catalogue. */
function codeFor(error: NodeJS.ErrnoException): ErrorCode {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'headers_too_large';
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 'body_too_large';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'request_timeout';
    default:
      return 'bad_request';
  }
}

/** The response a connection's earlier request is still owed, as Node's server keeps it on the socket. */
type Pending = { headersSent?: boolean; writableFinished?: boolean; once(event: 'finish' | 'close', listener: () => void): unknown };

/** The HTTP server's 'clientError' listener. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: Pending | null })._httpMessage;
  // A response already under way on this connection (an event stream, say) must not get a second
  // head in the middle of its body: Node's own handler makes the same check.
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const answer = () => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    // Closed once written, whether or not the client ever sends its FIN (as Node's own handler
    // does): ending alone left the socket waiting for it with no deadline.
    socket.end(renderErrorResponse(apiError(codeFor(error))), () => socket.destroy());
  };
  // Bad bytes right behind a request whose answer is not written yet (a post still storing its
  // message): that answer goes first. Written first, the error would be taken for the answer to
  // a post that was stored, and the client would send it again.
  if (inFlight && !inFlight.writableFinished) {
    let answered = false;
    const once = () => {
      if (answered) return;
      answered = true;
      answer();
    };
    inFlight.once('finish', once);
    inFlight.once('close', once);
    return;
  }
  answer();
}

/**
 * The HTTP server's 'checkExpectation' listener: an `Expect` other than 100-continue, answered
 * in the API's error format (Node's own answer is a 417 with no body).
 */
export function answerUnmetExpectation(_request: IncomingMessage, response: ServerResponse): void {
  const failure = apiError('expectation_failed');
  const body = JSON.stringify(failure.toJSON());
  response.shouldKeepAlive = false;
  response.writeHead(failure.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}
