// `POST /streams/:stream/messages` with a JSON body, served on the raw connection (see
// http/connection-router.ts). Only valid posts are answered here, with exactly the bytes the
// Express route gives (201, Location, the message JSON, rate-limit headers; 503 and 500 from the
// catalogue). Anything else (forms, bad JSON, invalid messages, rate-limited clients, chunked
// bodies, Expect, other charsets) is handed to Express, so every error answer comes from one place.
import type { Socket } from 'node:net';
import type { Message, MessageInput } from '../broker/broker.js';
import { messageJson, messageJsonBytes } from '../broker/message-json.js';
import { apiError, asApiError } from '../errors.js';
import type { FastRequest } from '../http/connection-router.js';
import { PostRateLimit } from '../http/post-rate-limit.js';
import { renderErrorResponse, renderJsonResponse } from '../http/raw-response.js';
import { decodeParam, type RequestHead } from '../http/request-head.js';
import { messageBodyLimit, quickMessageInput, STREAM_NAME } from '../validation.js';
import type { AppContext } from './context.js';

const PATH = /^\/streams\/([^/]+)\/messages$/;
// What express.json() takes as UTF-8 JSON without a charset conversion. White space is HTTP's
// (space and tab), not \s, which also takes the head's byte 0xA0 (read as latin1) and more.
const JSON_TYPE = /^application\/json[ \t]*(?:;[ \t]*charset[ \t]*=[ \t]*"?utf-8"?[ \t]*)?$/i;

export function messagesFastPath(context: AppContext, keepAliveTimeoutMs: number): (socket: Socket, head: RequestHead) => FastRequest | null {
  const { config } = context;
  // Express's limit for the same body (routes/streams.ts), so that both take the same posts.
  const jsonBodyLimit = messageBodyLimit(config, 'json');
  return (socket, head) => {
    if (head.method !== 'POST') return null;
    const match = PATH.exec(head.path);
    // Behind proxies the client is in X-Forwarded-For, which only Express reads.
    if (!match || config.trustProxyHops > 0 || context.isShuttingDown()) return null;
    const stream = decodeParam(match[1]!);
    const { headers } = head;
    if (stream === null || !STREAM_NAME.test(stream)) return null;
    if (headers.has('transfer-encoding') || headers.has('expect') || headers.has('content-encoding')) return null;
    const contentType = headers.get('content-type');
    const contentLength = headers.get('content-length');
    if (contentType === undefined || (contentType !== 'application/json' && !JSON_TYPE.test(contentType))) return null;
    if (contentLength === undefined || !isDigits(contentLength, 9)) return null;
    const bodyBytes = Number(contentLength);
    if (bodyBytes > jsonBodyLimit) return null;
    return new FastPost(bodyBytes, stream, socket, head.path, context, keepAliveTimeoutMs);
  };
}

/**
 * Posts the native post lane read and checked (http/post-lane.ts), on a node whose broker
 * publishes at once: counted against the client's rate limit, published, and answered with the
 * bytes answer() gives; null for a client over its limit, whose post goes back to the fast path
 * (and from there to Express, which renders the 429).
 */
export function lanePosts(
  context: AppContext,
  keepAliveTimeoutMs: number,
): (socket: Socket, stream: string, input: MessageInput, keepAlive: boolean, idMs?: number, idSeq?: number, sent?: number, answered?: boolean) => string | null {
  const { postRateLimit } = context;
  return (socket, stream, input, keepAlive, idMs, idSeq, sent, answered) => {
    // A post the lane wrote to viewers itself: only on a node with no rate limit (node.ts).
    if (idMs !== undefined) return fannedOut(context, stream, input, keepAlive, keepAliveTimeoutMs, idMs, idSeq!, sent!, answered === true);
    const headerLines = countPost(postRateLimit, socket);
    if (headerLines === null) return null;
    return publishedNow(context, stream, input, headerLines, keepAlive, keepAliveTimeoutMs);
  };
}

/**
 * A post the lane wrote to `sent` of its room's viewers under the id it gave: published with that
 * id, written to everyone else by the Hub, and answered as any other, unless the lane `answered`
 * it too ('' then, or the error's answer should the publish fail).
 */
function fannedOut(
  context: AppContext,
  stream: string,
  input: MessageInput,
  keepAlive: boolean,
  keepAliveTimeoutMs: number,
  idMs: number,
  idSeq: number,
  sent: number,
  answered: boolean,
): string {
  const { hub } = context;
  hub.beginLaneSent(sent);
  let message: Message | null = null;
  try {
    message = context.broker.publishNowAt!(stream, input, idMs, idSeq);
    return answered ? '' : createdResponse(message, stream, '', keepAlive, keepAliveTimeoutMs);
  } catch (error) {
    return failedResponse(context, `/streams/${stream}/messages`, error, '', keepAlive, keepAliveTimeoutMs);
  } finally {
    hub.endLaneSent(message, sent);
  }
}

/**
 * Counts a post against its client's rate limit: the limit's header lines for the answer ('' with
 * no limit), or null for a client over it. Express then counts the post again, which changes
 * nothing for a client already over the limit (remaining stays 0, the window's end is kept), and
 * renders the 429.
 */
function countPost(postRateLimit: PostRateLimit | null, socket: Socket): string | null {
  if (!postRateLimit) return '';
  const hit = postRateLimit.hit(PostRateLimit.keyFor(socket.remoteAddress ?? ''));
  return hit.limited ? null : hit.headerLines;
}

/** 1 to `max` ASCII digits (a regular expression costs more per post). */
function isDigits(text: string, max: number): boolean {
  if (text.length < 1 || text.length > max) return false;
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/** express.json() is strict: an object or array at the top (after JSON's white space), else invalid_json. */
function startsWithObject(text: string): boolean {
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === 0x7b) return true;
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return false;
  }
  return false;
}

/** One post the fast path took: a class rather than closures made for every post. */
class FastPost implements FastRequest {
  constructor(
    readonly bodyBytes: number,
    private readonly stream: string,
    private readonly socket: Socket,
    private readonly path: string,
    private readonly context: AppContext,
    private readonly keepAliveTimeoutMs: number,
  ) {}

  answer(body: Buffer, keepAlive: boolean): string | Promise<string> | null {
    const { config, broker, postRateLimit } = this.context;
    const text = body.toString('utf8');
    if (!startsWithObject(text)) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return null;
    }
    const input = quickMessageInput(parsed, config);
    if (!input) return null;
    const headerLines = countPost(postRateLimit, this.socket);
    if (headerLines === null) return null;
    if (!broker.publishNow) {
      return broker.publish(this.stream, input).then(
        (message) => this.created(message, headerLines, keepAlive),
        (error: unknown) => this.failed(error, headerLines, keepAlive),
      );
    }
    return publishedNow(this.context, this.stream, input, headerLines, keepAlive, this.keepAliveTimeoutMs, this.path);
  }

  private created(message: Message, headerLines: string, keepAlive: boolean): string {
    return createdResponse(message, this.stream, headerLines, keepAlive, this.keepAliveTimeoutMs);
  }

  private failed(error: unknown, headerLines: string, keepAlive: boolean): string {
    return failedResponse(this.context, this.path, error, headerLines, keepAlive, this.keepAliveTimeoutMs);
  }
}

/**
 * A post published on a broker that publishes at once, and its answer: the 201, or the error's.
 * @param path as the request wrote it, for the log of an unexpected error (by default the
 * stream's own path)
 */
function publishedNow(context: AppContext, stream: string, input: MessageInput, headerLines: string, keepAlive: boolean, keepAliveTimeoutMs: number, path?: string): string {
  try {
    return createdResponse(context.broker.publishNow!(stream, input), stream, headerLines, keepAlive, keepAliveTimeoutMs);
  } catch (error) {
    return failedResponse(context, path ?? `/streams/${stream}/messages`, error, headerLines, keepAlive, keepAliveTimeoutMs);
  }
}

function createdResponse(message: Message, stream: string, headerLines: string, keepAlive: boolean, keepAliveTimeoutMs: number): string {
  return renderJsonResponse({
    status: 201,
    // STREAM_NAME's characters are all ones encodeURIComponent leaves as they are.
    headerLines: `${headerLines}Location: /streams/${stream}/messages?after=${message.id}\r\n`,
    json: messageJson(message),
    jsonBytes: messageJsonBytes(message),
    keepAlive,
    keepAliveTimeoutMs,
  });
}

function failedResponse(context: AppContext, path: string, error: unknown, headerLines: string, keepAlive: boolean, keepAliveTimeoutMs: number): string {
  const known = asApiError(error);
  if (!known) context.logger.error({ err: error, method: 'POST', url: path }, 'unhandled error');
  return renderErrorResponse(known ?? apiError('internal'), { headerLines, keepAlive, keepAliveTimeoutMs });
}
