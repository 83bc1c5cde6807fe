// Builds the Express app from its parts. No listen here, so tests mount it on port 0.
import express, { type NextFunction, type Request, type Response } from 'express';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiError } from './errors.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { pageRoutes } from './routes/pages.js';
import { knownFailure, streamRoutes } from './routes/streams.js';
import type { AppContext } from './routes/context.js';

const require = createRequire(import.meta.url);
// htmx is served from the installed package, never from a CDN.
const htmxDist = join(dirname(require.resolve('htmx.org/package.json')), 'dist');
// public/ sits at the repository root, beside both server/ and dist/server/.
const publicDir = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../public/' : '../public/', import.meta.url));

export function buildApp(context: AppContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', context.config.trustProxyHops);

  // HTTP/1.1 requires Host (RFC 9112, 3.2): refused here, in the API's error format, where Node's
  // own check (off in node.ts) answers with an empty 400. The connection closes after it, as there.
  app.use((req, res, next) => {
    if (req.httpVersion !== '1.1' || req.headers.host !== undefined) return next();
    res.shouldKeepAlive = false;
    next(apiError('bad_request', 'an HTTP/1.1 request needs a Host header'));
  });

  app.use('/vendor', express.static(htmxDist, { maxAge: '1h', index: false }));
  app.use('/static', express.static(publicDir, { maxAge: '5m', index: false }));
  app.use(healthRoutes(context));
  app.use(metricsRoutes(context));
  app.use(pageRoutes(context));
  app.use(streamRoutes(context));

  app.use((_req, _res, next) => next(apiError('not_found')));
  // The one place errors become responses: catalogue errors as JSON (Express's own 4xx among them),
  // anything else a logged 500.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known = knownFailure(error);
    if (!known) context.logger.error({ err: error, method: req.method, url: req.originalUrl }, 'unhandled error');
    const failure = known ?? apiError('internal');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(failure.status).json(failure.toJSON());
  });
  return app;
}
