// Liveness and readiness: /healthz says the process serves HTTP, /readyz that its broker is
// reachable (a load balancer sends viewers elsewhere while it is not).
import { Router } from 'express';
import type { AppContext } from './context.js';

export function healthRoutes(context: AppContext): Router {
  const router = Router();
  const identity = () => ({
    node: context.config.nodeId,
    region: context.config.region,
    broker: context.broker.kind,
  });
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...identity(), viewers: context.hub.viewerCount });
  });
  router.get('/readyz', (_req, res) => {
    const ready = context.broker.isReady() && !context.isShuttingDown();
    const reason = context.isShuttingDown() ? 'shutting down' : ready ? undefined : 'broker unreachable';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', reason, ...identity() });
  });
  return router;
}
