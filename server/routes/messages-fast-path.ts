// `POST /streams/:stream/messages` with a JSON body, served on the raw connection (see
// http/connection-router.ts). Only valid posts are answered here, with exactly the bytes the
// Express route gives (201, Location, the message JSON, rate-limit headers; 503 and 500 from the
// catalogue). Anything else (forms, bad JSON, invalid messages, rate-limited clients, chunked
// bodies, Expect, other charsets) is handed to Express, so every error answer comes from one place.
import type { Socket } from 'node:net';
import type { Message } from '../broker/broker.js';
import { messageJson } from '../broker/message-json.js';
import { apiError, asApiError } from '../errors.js';
import type { FastRequest } from '../http/connection-router.js';
import { PostRateLimit } from '../http/post-rate-limit.js';
import { renderErrorResponse, renderJsonResponse } from '../http/raw-response.js';
import { decodeParam, type RequestHead } from '../http/request-head.js';
import { quickMessageInput, STREAM_NAME } from '../validation.js';
import type { AppContext } from './context.js';

const PATH = /^\/streams\/([^/]+)\/messages$/;
// What express.json() takes as UTF-8 JSON without a charset conversion.
const JSON_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export function messagesFastPath(context: AppContext, keepAliveTimeoutMs: number): (socket: Socket, head: RequestHead) => FastRequest | null {
  const { config, broker, postRateLimit, logger } = context;
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
    if (contentType === undefined || !JSON_TYPE.test(contentType)) return null;
    if (contentLength === undefined || !/^\d{1,9}$/.test(contentLength)) return null;
    const bodyBytes = Number(contentLength);
    if (bodyBytes > config.maxBodyBytes) return null;

    return {
      bodyBytes,
      answer(body, keepAlive) {
        // express.json() is strict: an object or array at the top, else invalid_json.
        const text = body.toString('utf8');
        if (!/^[\x20\x09\x0a\x0d]*\{/.test(text)) return null;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return null;
        }
        const input = quickMessageInput(parsed, config);
        if (!input) return null;
        let headerLines = '';
        if (postRateLimit) {
          const hit = postRateLimit.hit(PostRateLimit.keyFor(socket.remoteAddress ?? ''));
          // Express counts this post again, which changes nothing for a client already over the
          // limit (remaining stays 0, the window's end is kept), and renders the 429.
          if (hit.limited) return null;
          headerLines = hit.headerLines;
        }
        const created = (message: Message) =>
          renderJsonResponse({
            status: 201,
            headerLines: `${headerLines}Location: /streams/${encodeURIComponent(stream)}/messages?after=${message.id}\r\n`,
            json: messageJson(message),
            keepAlive,
            keepAliveTimeoutMs,
          });
        const failed = (error: unknown) => {
          const known = asApiError(error);
          if (!known) logger.error({ err: error, method: 'POST', url: head.path }, 'unhandled error');
          const answer = known ?? apiError('internal');
          return renderErrorResponse(answer, { headerLines, keepAlive, keepAliveTimeoutMs });
        };
        if (!broker.publishNow) return broker.publish(stream, input).then(created, failed);
        try {
          return created(broker.publishNow(stream, input));
        } catch (error) {
          return failed(error);
        }
      },
    };
  };
}
