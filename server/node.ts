// One sse-chat node: broker, hub, app and HTTP server, started and closed in order. main.ts and
// the tests both go through here, so SIGTERM and a test's `after` take the same path.
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Broker } from './broker/broker.js';
import { createBroker } from './broker/create.js';
import type { Config } from './config.js';
import { Hub } from './hub.js';
import { eventStreamFastPath } from './routes/events.js';
import { answerClientError, answerUnmetExpectation } from './http/client-error.js';
import { connectionRouter } from './http/connection-router.js';
import { PostRateLimit } from './http/post-rate-limit.js';
import { PostLane } from './http/post-lane.js';
import { lanePosts, messagesFastPath } from './routes/messages-fast-path.js';
import { loadPostLane } from './native/post-lane.js';
import { loadSocketWriter, SocketWriter } from './native/socket-writer.js';
import { messageBodyLimit } from './validation.js';
import { WriteScheduler } from './sse/write-scheduler.js';

export interface RunningNode {
  /** The listening socket; connections go to the raw fast paths or to Express. */
  server: Server;
  broker: Broker;
  hub: Hub;
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** Resolves once the broker is connected; until then /readyz says 503 and posts get 503. */
  brokerStarted: Promise<void>;
  /** Stops accepting, ends every SSE stream cleanly, closes the broker. Idempotent. */
  close(): Promise<void>;
}

/** Bytes a socket buffers before its writes ask for 'drain' (see config.ts, SLOW_CLIENT_BYTES). */
const SOCKET_HIGH_WATER_MARK = 16 * 1024;

export async function startNode(config: Readonly<Config>, logger: Logger, options: { broker?: Broker } = {}): Promise<RunningNode> {
  const broker = options.broker ?? (await createBroker(config, logger));
  // The node serves /healthz (and 503 elsewhere) while the broker is still connecting: a node
  // started before Redis is reachable retries in the background instead of crash-looping.
  const brokerStarted = broker.start();
  brokerStarted.then(
    () => logger.info({ broker: broker.kind }, 'broker connected'),
    (error: unknown) => logger.error({ err: error }, 'broker failed to start'),
  );
  const writer = socketWriter(config, logger);
  const scheduler = new WriteScheduler(undefined, writer);
  const hub = new Hub(broker, scheduler, { heartbeatMs: config.heartbeatMs, unsubscribeLingerMs: config.unsubscribeLingerMs, replayBacklogBytes: config.slowClientBytes / 2 }, logger);
  let shuttingDown = false;
  const postRateLimit = config.rateLimitPosts > 0 ? new PostRateLimit(config.rateLimitPosts, config.rateLimitWindowMs) : null;
  const sseOptions = Object.freeze({ retryMs: config.retryMs, slowClientBytes: config.slowClientBytes });
  const lane = postLane(config, broker, logger);
  // The lane writes posts to small rooms' viewers itself where no post it reads can be declined.
  if (lane && config.postLaneFanOut && !postRateLimit && broker.publishNowAt) scheduler.laneRooms = lane.fanOut(config.nodeId, config.region, config.keepAliveTimeoutMs);
  const context = { config, broker, hub, scheduler, sseOptions, logger, postRateLimit, postLaneStats: lane?.stats ?? null, isShuttingDown: () => shuttingDown };
  // Host is checked in the app (app.ts), which answers in the API's error format.
  const httpServer = createHttpServer({ requireHostHeader: false }, buildApp(context));
  // Event streams live for hours; only the request head has a deadline.
  httpServer.requestTimeout = 0;
  httpServer.headersTimeout = 20_000;
  httpServer.keepAliveTimeout = config.keepAliveTimeoutMs;
  httpServer.on('clientError', answerClientError);
  httpServer.on('checkExpectation', answerUnmetExpectation);
  const router = connectionRouter(
    httpServer,
    {
      takeover: eventStreamFastPath(context),
      request: messagesFastPath(context, httpServer.keepAliveTimeout),
      lanePost: lanePosts(context, httpServer.keepAliveTimeout),
    },
    { maxHeadBytes: 16 * 1024, headTimeoutMs: httpServer.headersTimeout, keepAliveTimeoutMs: httpServer.keepAliveTimeout, writer, lane },
  );
  // The sockets' high-water mark fixed at Node 20's 16 KiB (Node 22 made it 64 KiB): a replay's
  // pacing and SLOW_CLIENT_BYTES's floor rely on when a socket asks for 'drain'.
  const server = createNetServer({ noDelay: true, highWaterMark: SOCKET_HIGH_WATER_MARK }, router.onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listen, an accept error (libuv already sheds connections past the descriptor limit) is
  // logged rather than left to crash the process as an unhandled 'error' event.
  server.on('error', (error) => logger.error({ err: error }, 'accept failed'));
  // The HTTP server never listens itself; 'listening' starts its tracking of the connections it
  // is handed (header timeouts, closeIdleConnections, closeAllConnections).
  httpServer.emit('listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      // From here posts get 503, which the lane does not answer: Node reads every connection again.
      lane?.handBackAll();
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await hub.close();
      scheduler.flushAll();
      // Keep-alive connections are closed as soon as they are idle; requests still running (a
      // POST mid-flight) get until the deadline, then are cut.
      const closeIdle = () => {
        httpServer.closeIdleConnections();
        router.closeIdleConnections();
      };
      closeIdle();
      const idleSweep = setInterval(closeIdle, 100);
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, config.shutdownTimeoutMs - 1000)).unref());
      await Promise.race([serverClosed, deadline]);
      clearInterval(idleSweep);
      httpServer.closeAllConnections();
      router.closeAllConnections();
      postRateLimit?.close();
      // Stops the HTTP server's connection checks; it never listened, so its error is expected.
      httpServer.close(() => {});
      await broker.close();
    })());
  return { server, broker, hub, url, brokerStarted, close };
}

/**
 * The native post lane, where it is built and may be used: a broker that publishes at once (the
 * in-memory one; over Redis a post waits for the script anyway), and no proxies (the client a rate
 * limit counts is then in X-Forwarded-For, which only Express reads).
 */
function postLane(config: Readonly<Config>, broker: Broker, logger: Logger): PostLane | null {
  if (!config.postLane) return null;
  const off = !broker.publishNow ? 'the broker publishes asynchronously' : config.trustProxyHops > 0 ? 'behind proxies (TRUST_PROXY_HOPS)' : null;
  if (off) {
    logger.info({ reason: off }, 'post lane not used');
    return null;
  }
  const loaded = loadPostLane();
  if ('reason' in loaded) {
    if (process.platform === 'linux') logger.warn({ reason: loaded.reason }, 'post lane not available');
    else logger.info({ reason: loaded.reason }, 'post lane not available');
    return null;
  }
  logger.info('post lane');
  return new PostLane(loaded.calls, { bodyBytes: messageBodyLimit(config, 'json'), authorChars: config.maxAuthorChars, textChars: config.maxTextChars });
}

/** The writer of viewers' frames and posts' answers: direct where the native part is built, as configured. */
function socketWriter(config: Readonly<Config>, logger: Logger): SocketWriter {
  if (!config.directWrites) return new SocketWriter(null);
  const loaded = loadSocketWriter();
  if (loaded.kind === 'direct') {
    logger.info('direct socket writes');
    return new SocketWriter(loaded.calls);
  }
  // Not Linux is expected; anything else means a build that should be there is not.
  if (process.platform === 'linux') logger.warn({ reason: loaded.reason }, 'direct socket writes not available');
  else logger.info({ reason: loaded.reason }, 'direct socket writes not available');
  return new SocketWriter(null);
}
