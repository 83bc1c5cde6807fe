// A stream's event stream, `GET /streams/:stream/events`: validated once, then the viewer joins
// the Hub. Served two ways with the same logic: by the Express route (a request on a connection
// the HTTP server already holds) and by the fast path (a raw connection whose next request is this
// one with nothing owed before it, see http/connection-router.ts; no HTTP objects kept per viewer).
import type { Socket } from 'node:net';
import { apiError, asApiError } from '../errors.js';
import { SseConnection, type ResponseHead } from '../sse/connection.js';
import { renderErrorResponse } from '../http/raw-response.js';
import { decodeParam, type RequestHead } from '../http/request-head.js';
import { parseFormat, parseLastEventId, parseStreamName, type StreamFormat } from '../validation.js';
import type { AppContext } from './context.js';

export interface EventStreamRequest {
  stream: string;
  format: StreamFormat;
  lastEventId: string | null;
}

export function parseEventStreamRequest(input: {
  stream: unknown;
  format: unknown;
  lastEventIdHeader: string | undefined;
  lastEventIdQuery: unknown;
}): EventStreamRequest {
  const stream = parseStreamName(input.stream);
  const format = parseFormat(input.format);
  // The header is what a reconnecting client sends; the query is for a page opened later.
  const header = input.lastEventIdHeader;
  const lastEventId = parseLastEventId(header !== undefined && header !== '' ? header : input.lastEventIdQuery);
  return { stream, format, lastEventId };
}

/**
 * Joins the viewer to its stream. Rejects with an ApiError while the response head is still
 * unsent (the caller answers with it); once the stream is open, failures end it instead.
 */
export async function openEventStream(context: AppContext, request: EventStreamRequest, socket: Socket, head: ResponseHead): Promise<void> {
  if (context.isShuttingDown()) throw apiError('shutting_down');
  const { hub, scheduler, sseOptions } = context;
  const connection = new SseConnection(socket, head, sseOptions, scheduler);
  try {
    await hub.join(request.stream, connection, request.format, request.lastEventId);
  } catch (error) {
    if (!connection.isStarted) throw error;
    connection.end();
  }
}

const PATH = /^\/streams\/([^/]+)\/events$/;

/**
 * The fast path's handler: says how to start a plain, valid event stream request on the raw
 * socket, and null otherwise (bad input, other routes, request bodies), leaving those to Express
 * so every error answer comes from one place.
 */
export function eventStreamFastPath(context: AppContext): (head: RequestHead) => ((socket: Socket) => void) | null {
  return (head) => {
    if (head.method !== 'GET') return null;
    const match = PATH.exec(head.path);
    const stream = match ? decodeParam(match[1]!) : null;
    if (stream === null || context.isShuttingDown()) return null;
    const { headers, query } = head;
    if (headers.has('content-length') || headers.has('transfer-encoding') || headers.has('upgrade') || headers.has('expect')) return null;
    if (query.getAll('format').length > 1 || query.getAll('lastEventId').length > 1) return null;
    let request: EventStreamRequest;
    try {
      request = parseEventStreamRequest({
        stream,
        format: query.get('format') ?? undefined,
        lastEventIdHeader: headers.get('last-event-id'),
        lastEventIdQuery: query.get('lastEventId') ?? undefined,
      });
    } catch {
      return null;
    }
    return (socket) => {
      // The client sends nothing more on an event stream; reading keeps its FIN from going unseen.
      socket.on('data', ignore);
      socket.on('end', destroyOnEnd);
      openEventStream(context, request, socket, 'raw').catch((error: unknown) => {
        const known = asApiError(error);
        if (!known) context.logger.error({ err: error }, 'event stream failed to open');
        const failure = known ?? apiError('internal');
        // Refused before the viewer's connection (and its error listener) existed, a reset
        // before the client's FIN would otherwise be an unhandled 'error'.
        if (socket.listenerCount('error') === 0) socket.on('error', destroyOnEnd);
        socket.end(renderErrorResponse(failure));
      });
    };
  };
}

function ignore(): void {}

/** Shared by every stream, so an idle viewer carries no closure of its own for it (on 'end', and
 * on 'error' where nothing else listens). */
function destroyOnEnd(this: Socket): void {
  this.destroy();
}
