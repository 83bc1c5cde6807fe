// GET /metrics: the node's Prometheus metrics (see server/metrics.ts).
import { Router } from 'express';
import { createMetrics } from '../metrics.js';
import type { AppContext } from './context.js';

export function metricsRoutes(context: AppContext): Router {
  const registry = createMetrics(context.config, context.hub, context.broker, context.postLaneStats);
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
