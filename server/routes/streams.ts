// One stream as a resource: its chat page, its event stream, its messages (post and history).
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { isPast } from '../broker/ids.js';
import { apiError, asApiError, asRequestError, type ApiError } from '../errors.js';
import { openEventStream, parseEventStreamRequest } from './events.js';
import { messageBodyLimit, messageSchema, parseHistoryQuery, parseLastEventId, parseMessageInput, parseStreamName } from '../validation.js';
import { renderPostForm, renderStreamPage, type PostFormView } from '../views/stream-page.js';
import { layout } from '../views/layout.js';
import { SSE_HEADERS } from '../sse/frame.js';
import type { AppContext } from './context.js';

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** body-parser's error types, mapped to the catalogue. */
function bodyError(error: { type?: string; status?: number }): ApiError | null {
  switch (error.type) {
    case 'entity.too.large':
      return apiError('body_too_large');
    case 'entity.parse.failed':
      return apiError('invalid_json');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return apiError('unsupported_media_type', 'unsupported charset or content encoding');
    case 'parameters.too.many':
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return apiError('invalid_message', 'the request body could not be read');
    default:
      return null;
  }
}

function isFormPost(req: Request): boolean {
  return Boolean(req.is(FORM_TYPE));
}

export function streamRoutes(context: AppContext): Router {
  const { config, broker } = context;
  const router = Router();
  const schema = messageSchema(config);
  const formView = (stream: string, fields: Partial<PostFormView> = {}): PostFormView => ({ stream, ...fields });

  /** The page of a viewer coming back: what it missed after `after`, and whether some is gone. */
  const resumedPage = async (stream: string, after: string) => {
    const { messages, gap, position } = await broker.history(stream, after, config.pageHistory);
    // With nothing after `after`, the live stream picks up from where the stream is when some was
    // lost (or it would tell of the same loss again under the page's notice) and when `after` is
    // past it (a made-up link, whose id the browser would keep as seen).
    const pastIt = isPast(after, position, Date.now());
    return { messages, gap, resumeAfter: messages.at(-1)?.id ?? (((gap || pastIt) && position) || after) };
  };

  /** A first visit: the latest messages, and where the live stream picks up after them. */
  const firstPage = async (stream: string) => {
    // With nothing retained the page resumes from where the stream is, read with the messages so
    // nothing posted in between is missed: from 0-0 it was told every aged-out message as missed.
    const { messages, position } = await broker.recent(stream, config.pageHistory);
    return { messages, gap: false, resumeAfter: messages.at(-1)?.id ?? position ?? '0-0' };
  };

  /** The chat page; `form` carries a failed post's error and text back to the person. */
  const sendStreamPage = async (res: Response, stream: string, after: string | null, form: PostFormView) => {
    const page = after ? await resumedPage(stream, after) : await firstPage(stream);
    res.type('html').send(
      renderStreamPage({
        stream,
        messages: page.messages,
        resumeAfter: page.resumeAfter,
        gap: page.gap,
        form,
        node: config.nodeId,
        region: config.region,
      }),
    );
  };

  router.get('/streams/:stream', async (req, res) => {
    const stream = parseStreamName(req.params.stream);
    await sendStreamPage(res, stream, parseLastEventId(req.query.lastEventId), formView(stream));
  });

  const eventStreamRequest = (req: Request) =>
    parseEventStreamRequest({
      stream: req.params.stream,
      format: req.query.format,
      lastEventIdHeader: req.get('last-event-id'),
      lastEventIdQuery: req.query.lastEventId,
    });

  // HEAD of an event stream: the head a GET would get, and no stream. Left to the GET route,
  // Node would drop the head it writes for a HEAD and then the frames would reach the socket bare.
  router.head('/streams/:stream/events', (req, res) => {
    eventStreamRequest(req);
    if (context.isShuttingDown()) throw apiError('shutting_down');
    res.writeHead(200, SSE_HEADERS).end();
  });

  router.get('/streams/:stream/events', async (req, res) => {
    const request = eventStreamRequest(req);
    // Pipelined behind a request whose answer is still being written, the response gets the
    // socket only once that answer is out: a stream started before would write its frames ahead
    // of that answer's end and of its own head, and count the answer's bytes as its own backlog.
    if (!(await responseHasSocket(req, res))) return;
    try {
      await openEventStream(context, request, req.socket, res);
    } catch (error) {
      // As on the fast path, which has handed the socket to the stream by then: an event stream
      // that could not open (503) closes its connection; an EventSource never reuses it anyway.
      // Node then says `Connection: close` where it says keep-alive otherwise, as the fast path.
      res.shouldKeepAlive = false;
      throw error;
    }
  });

  router.get('/streams/:stream/messages', async (req, res) => {
    const stream = parseStreamName(req.params.stream);
    const { after, limit } = parseHistoryQuery(req.query, Math.max(config.historySize, 1));
    const page = await broker.history(stream, after, limit);
    res.json({ stream, messages: page.messages, gap: page.gap, lost: page.lost });
  });

  const { postRateLimit } = context;
  const limiter = postRateLimit
    ? rateLimit({
        windowMs: postRateLimit.windowMs,
        limit: postRateLimit.limit,
        // The count is shared with the raw POST fast path (routes/messages-fast-path.ts).
        store: postRateLimit,
        identifier: postRateLimit.identifier,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        handler: (_req, _res, next) => next(apiError('rate_limited')),
      })
    : (_req: Request, _res: Response, next: NextFunction) => next();

  const parseJson = express.json({ limit: messageBodyLimit(config, 'json'), type: JSON_TYPE });
  const parseForm = express.urlencoded({ limit: messageBodyLimit(config, 'form'), extended: false, parameterLimit: 20, type: FORM_TYPE });

  router.post(
    '/streams/:stream/messages',
    (req: Request, _res: Response, next: NextFunction) => {
      parseStreamName(req.params.stream);
      if (!req.is([JSON_TYPE, FORM_TYPE])) throw apiError('unsupported_media_type');
      next();
    },
    // Parsed before the limiter so that a limited form post still gets its text back.
    (req: Request, res: Response, next: NextFunction) => (isFormPost(req) ? parseForm : parseJson)(req, res, next),
    limiter,
    async (req: Request, res: Response) => {
      const stream = parseStreamName(req.params.stream);
      const input = parseMessageInput(schema, req.body);
      // The node's viewers are gone by now, and a memory broker's store goes with the process: a
      // post taken now would be a 201 that nobody sees (the client posts again elsewhere).
      if (context.isShuttingDown()) {
        res.shouldKeepAlive = false;
        throw apiError('shutting_down');
      }
      const message = await broker.publish(stream, input);
      if (!isFormPost(req)) {
        res.status(201).location(`/streams/${encodeURIComponent(stream)}/messages?after=${message.id}`).json(message);
      } else if (req.get('hx-request')) {
        // htmx swaps the form back in: cleared text, the name kept.
        res.status(201).type('html').send(renderPostForm(formView(stream, { author: input.author })).value);
      } else {
        res.redirect(303, `/streams/${encodeURIComponent(stream)}`);
      }
    },
    // A form post that fails gets the form back with the error and the text kept; JSON clients
    // fall through to the JSON error middleware.
    async (error: unknown, req: Request, res: Response, next: NextFunction) => {
      const apiFailure = knownFailure(error);
      if (!isFormPost(req) || !apiFailure || apiFailure.code === 'invalid_stream_name') return next(apiFailure ?? error);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const stream = req.params.stream as string;
      const form = formView(stream, {
        author: typeof body.author === 'string' ? body.author : undefined,
        text: typeof body.text === 'string' ? body.text : undefined,
        error: apiFailure.message,
      });
      res.status(apiFailure.status);
      if (req.get('hx-request')) {
        res.type('html').send(renderPostForm(form).value);
        return;
      }
      try {
        await sendStreamPage(res, stream, null, form);
      } catch {
        // The broker is down too: the form alone still shows the error and keeps the text.
        res.type('html').send(layout(`${stream} · sse-chat`, renderPostForm(form)));
      }
    },
  );

  return router;
}

/** The catalogue error a failure of these routes stands for, or null for a bug (a logged 500). */
export function knownFailure(error: unknown): ApiError | null {
  return asApiError(error) ?? bodyError(error as { type?: string }) ?? asRequestError(error);
}

/** Resolves true once the response has the connection's socket, false if the connection closed first. */
function responseHasSocket(req: Request, res: Response): Promise<boolean> | boolean {
  if (res.socket) return true;
  const connection = req.socket;
  if (connection.destroyed) return false;
  return new Promise((resolve) => {
    const onSocket = () => {
      connection.off('close', onClose);
      resolve(true);
    };
    const onClose = () => {
      res.off('socket', onSocket);
      resolve(false);
    };
    res.once('socket', onSocket);
    connection.once('close', onClose);
  });
}
