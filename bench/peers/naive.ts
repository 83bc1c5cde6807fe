// The floor: the usual tutorial SSE chat. Express, a Set of open responses per stream, and one
// res.write per viewer per message (chunked encoding, a JSON.stringify per message). Same URL
// shapes as sse-chat so the load generator drives both alike. Run: PORT=3100 node dist/bench/peers/naive.js
import express from 'express';
import type { Response } from 'express';

const port = Number(process.env.PORT ?? 3100);
const host = process.env.HOST ?? '127.0.0.1';
const nodeId = process.env.NODE_ID ?? 'naive';
const region = process.env.REGION ?? 'local';

const viewers = new Map<string, Set<Response>>();
const lastId = new Map<string, { ms: number; seq: number }>();

const app = express();
app.use(express.json());

app.get('/healthz', (_req, res) => {
  res.json({ ok: true, node: nodeId, region, broker: 'none' });
});

app.get('/streams/:stream/events', (req, res) => {
  const stream = req.params.stream;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  res.flushHeaders();
  let set = viewers.get(stream);
  if (!set) viewers.set(stream, (set = new Set()));
  set.add(res);
  req.on('close', () => {
    set.delete(res);
    if (set.size === 0) viewers.delete(stream);
  });
});

app.post('/streams/:stream/messages', (req, res) => {
  const stream = req.params.stream;
  const { author, text } = (req.body ?? {}) as { author?: unknown; text?: unknown };
  if (typeof author !== 'string' || typeof text !== 'string') {
    res.status(400).json({ error: { code: 'bad_message', message: 'author and text are required' } });
    return;
  }
  const now = Date.now();
  const last = lastId.get(stream);
  const id = last && last.ms >= now ? { ms: last.ms, seq: last.seq + 1 } : { ms: now, seq: 0 };
  lastId.set(stream, id);
  const message = { id: `${id.ms}-${id.seq}`, stream, author, text, ts: id.ms, node: nodeId, region };
  for (const viewer of viewers.get(stream) ?? []) {
    viewer.write(`id: ${message.id}\ndata: ${JSON.stringify(message)}\n\n`);
  }
  res.status(201).json(message);
});

const server = app.listen(port, host, () => console.log(`naive peer listening on ${host}:${port}`));
const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
