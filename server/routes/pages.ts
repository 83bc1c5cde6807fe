// The landing page and the join form's redirect.
import { Router } from 'express';
import { ApiError } from '../errors.js';
import { parseStreamName } from '../validation.js';
import { renderLanding } from '../views/landing.js';
import type { AppContext } from './context.js';

export function pageRoutes(context: AppContext): Router {
  const router = Router();
  const landing = (res: import('express').Response, extra: { error?: string; name?: string } = {}) =>
    res.type('html').send(
      renderLanding({ active: context.hub.activeStreams(), node: context.config.nodeId, region: context.config.region, ...extra }),
    );

  router.get('/', (_req, res) => {
    landing(res);
  });

  router.get('/join', (req, res) => {
    const raw = typeof req.query.stream === 'string' ? req.query.stream.trim() : '';
    try {
      const stream = parseStreamName(raw);
      res.redirect(303, `/streams/${encodeURIComponent(stream)}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      res.status(error.status);
      landing(res, { error: error.message, name: raw.slice(0, 64) });
    }
  });
  return router;
}
