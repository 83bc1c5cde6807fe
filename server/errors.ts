// The catalogue of API errors: every error a client can get, defined once with its code, HTTP
// status and message. Handlers throw `apiError(...)`; one middleware renders it.
import { BrokerUnavailableError } from './broker/broker.js';

export const ERRORS = {
  invalid_stream_name: { status: 400, message: 'stream names are 1-64 characters: letters, digits, _ . - (not first)' },
  invalid_last_event_id: { status: 400, message: 'lastEventId must be a stream id such as 1700000000000-0' },
  invalid_format: { status: 400, message: 'format must be json or html' },
  invalid_query: { status: 400, message: 'query parameters are invalid' },
  invalid_json: { status: 400, message: 'the request body is not valid JSON' },
  invalid_message: { status: 400, message: 'the message is invalid' },
  invalid_path: { status: 400, message: 'the path is not valid percent-encoding' },
  bad_request: { status: 400, message: 'the request could not be read' },
  request_timeout: { status: 408, message: 'the request did not arrive in time' },
  not_found: { status: 404, message: 'no such resource' },
  body_too_large: { status: 413, message: 'the request body is too large' },
  expectation_failed: { status: 417, message: 'the only expectation this server meets is Expect: 100-continue' },
  unsupported_media_type: {
    status: 415,
    message: 'send application/json or application/x-www-form-urlencoded',
  },
  rate_limited: { status: 429, message: 'too many messages; wait a moment and try again' },
  headers_too_large: { status: 431, message: 'the request head is too large' },
  internal: { status: 500, message: 'internal error' },
  broker_unavailable: { status: 503, message: 'the message store is unavailable; try again shortly' },
  shutting_down: { status: 503, message: 'this node is shutting down; reconnect to another' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
  ) {
    super(message ?? ERRORS[code].message);
    this.name = 'ApiError';
    this.status = ERRORS[code].status;
  }

  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function apiError(code: ErrorCode, message?: string): ApiError {
  return new ApiError(code, message);
}

/**
 * The catalogue error a thrown value stands for: an ApiError as it is, a broker outage as 503
 * `broker_unavailable` (whichever route met it), null for anything else (a bug: 500, logged).
 */
export function asApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  if (error instanceof BrokerUnavailableError) return apiError('broker_unavailable');
  return null;
}

/**
 * The catalogue error for what Express and its parsers reject on their own with a 4xx and no
 * type of theirs we map (see bodyError in routes/streams.ts): a route parameter that is not valid
 * percent-encoding (the router's URIError), a compressed body that does not inflate. Null for
 * anything else.
 */
export function asRequestError(error: unknown): ApiError | null {
  if (error instanceof URIError) return apiError('invalid_path');
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? apiError('bad_request') : null;
}
