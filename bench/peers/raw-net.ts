// The least a Node server can do per message: raw `net` sockets, a Set of viewer sockets per
// stream, one frame Buffer per message written to each viewer, and a fixed 201. No validation,
// no history, no ids worth the name, no Last-Event-ID, no heartbeat, no backpressure: not a
// product, a measuring stick. What it costs per post is what Node's own read and write paths
// cost, so a scenario where it too loses to nchan is bound by the runtime, not by sse-chat's code.
// Same URL shapes as sse-chat. Run: PORT=3100 node dist/bench/peers/raw-net.js
import net from 'node:net';

const port = Number(process.env.PORT ?? 3100);
const host = process.env.HOST ?? '127.0.0.1';

const viewers = new Map<string, Set<net.Socket>>();
let lastId = 0;

const STREAM_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: keep-alive\r\n\r\n';
const HEALTH = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{"ok":true}';
const CREATED = 'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}';
const EVENTS = /^GET \/streams\/([^/ ]+)\/events /;
const MESSAGES = /^POST \/streams\/([^/ ]+)\/messages /;
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;

function watch(socket: net.Socket, stream: string): void {
  let set = viewers.get(stream);
  if (!set) viewers.set(stream, (set = new Set()));
  set.add(socket);
  socket.once('close', () => {
    set.delete(socket);
    if (set.size === 0) viewers.delete(stream);
  });
  socket.write(STREAM_HEAD);
}

function publish(stream: string, body: Buffer): void {
  const frame = Buffer.concat([Buffer.from(`id: 0-${++lastId}\ndata: `), body, Buffer.from('\n\n')]);
  for (const viewer of viewers.get(stream) ?? []) viewer.write(frame);
}

const server = net.createServer({ noDelay: true }, (socket) => {
  let received: Buffer | null = null;
  const onData = (chunk: Buffer) => {
    received = received ? Buffer.concat([received, chunk]) : chunk;
    for (;;) {
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = received.toString('latin1', 0, headEnd);
      const events = EVENTS.exec(head);
      if (events) {
        socket.off('data', onData);
        watch(socket, events[1]!);
        return;
      }
      const post = MESSAGES.exec(head);
      if (!post) {
        socket.end(HEALTH);
        return;
      }
      const bodyStart = headEnd + 4;
      const end = bodyStart + Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
      if (received.length < end) return;
      publish(post[1]!, received.subarray(bodyStart, end));
      socket.write(CREATED);
      if (received.length === end) {
        received = null;
        return;
      }
      received = received.subarray(end);
    }
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
});

server.listen(port, host, () => console.log(`raw-net peer listening on ${host}:${port}`));
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
