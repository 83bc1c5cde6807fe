// The connection router on its own, over real sockets, with routes made for the test: its
// deadlines (a head that never completes, pipelined requests that keep coming) and the order of
// what it writes when a request answered at once is followed by an event stream in one chunk.
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connectionRouter, type FastRoutes } from '../../server/http/connection-router.js';
import { openRaw, rawRequest } from '../helpers/raw-http.js';

const CREATED = 'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok';
const STREAM_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n';

/** When a post is answered: now, on a later turn, or once the test opens a gate. */
type AnswerWhen = boolean | { asked: () => void; gate: Promise<void> };

/** POST /post answered with CREATED (now, on a later turn, or when the gate opens); GET /stream taken over. */
function routes(answerLater: AnswerWhen): FastRoutes {
  return {
    takeover: (head) => (head.method === 'GET' && head.path === '/stream' ? (socket: Socket) => socket.write(STREAM_HEAD) : null),
    request: (_socket, head) => {
      if (head.method !== 'POST' || head.path !== '/post') return null;
      return {
        bodyBytes: Number(head.headers.get('content-length') ?? 0),
        answer: () => {
          if (typeof answerLater === 'object') {
            answerLater.asked();
            return answerLater.gate.then(() => CREATED);
          }
          return answerLater ? new Promise<string>((resolve) => setImmediate(() => resolve(CREATED))) : CREATED;
        },
      };
    },
  };
}

interface TestRouter {
  url: string;
  /** Resolves once the server's side of each accepted connection has closed, in the order accepted. */
  closedSides: Promise<void>[];
  /** The sockets the router handed to the HTTP server. */
  handedOff: Socket[];
  /** What shutdown does first: closes the connections with no request in progress. */
  closeIdle(): void;
  close(): Promise<void>;
}

async function startRouter(answerLater: AnswerWhen, headTimeoutMs: number, keepAliveTimeoutMs = 5000): Promise<TestRouter> {
  const httpServer = createHttpServer((_request, response) => response.writeHead(404).end());
  const handedOff: Socket[] = [];
  httpServer.on('connection', (socket: Socket) => handedOff.push(socket));
  const router = connectionRouter(httpServer, routes(answerLater), { maxHeadBytes: 16 * 1024, headTimeoutMs, keepAliveTimeoutMs });
  const closedSides: Promise<void>[] = [];
  const server: Server = createNetServer({ noDelay: true }, (socket) => {
    // Listened for from the start: the router may close a connection before the test looks.
    closedSides.push(new Promise<void>((resolve) => socket.once('close', () => resolve())));
    router.onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  httpServer.emit('listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    closedSides,
    handedOff,
    closeIdle: () => router.closeIdleConnections(),
    close: () =>
      new Promise<void>((resolve) => {
        router.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const post = rawRequest('POST', '/post', {}, 'hi');


describe('connection router', function () {
  it('answers 408 and closes a connection whose head is still incomplete when the head deadline passes, or that sent nothing', async () => {
    const router = await startRouter(false, 600);
    try {
      for (const begun of ['POST /post HTTP/1.1\r\nHost: t\r\n', '']) {
        const connection = await openRaw(router.url);
        try {
          const startedAt = Date.now();
          if (begun) connection.send(begun);
          // As the HTTP server answers a head that takes too long, in the API's error format.
          const [response] = await connection.responses(1, 3000);
          assert.equal(response!.status, 408);
          assert.equal(JSON.parse(response!.body).error.code, 'request_timeout');
          assert.equal(response!.header('connection'), 'close');
          await connection.closed;
          const openMs = Date.now() - startedAt;
          assert.ok(openMs >= 550 && openMs < 3000, `closed after ${openMs} ms`);
        } finally {
          connection.close();
        }
      }
    } finally {
      await router.close();
    }
  });

  for (const [kind, answerLater] of [
    ['answered at once', false],
    ['answered on a later turn', true],
  ] as const) {
    it(`gives every pipelined request a head deadline of its own: ${kind}`, async () => {
      const router = await startRouter(answerLater, 600);
      const connection = await openRaw(router.url);
      try {
        // Each send completes the request begun by the last one and begins another, for 1.8 s:
        // three head deadlines long, with a head always in progress (450 ms to spare per send).
        const half = post.length >> 1;
        connection.send(post.slice(0, half));
        for (let index = 0; index < 12; index++) {
          await new Promise((resolve) => setTimeout(resolve, 150));
          connection.send(post.slice(half) + post.slice(0, half));
          const [response] = await connection.responses(1, 2000);
          assert.equal(response!.status, 201, `request ${index}`);
        }
        connection.send(post.slice(half));
        assert.equal((await connection.responses(1, 2000))[0]!.status, 201);
      } finally {
        connection.close();
        await router.close();
      }
    });
  }

  it('serves a request that came just before the keep-alive deadline, and closes the connection once idle', async function () {
    this.timeout(5000);
    const router = await startRouter(false, 5000, 300);
    const connection = await openRaw(router.url);
    try {
      connection.send(post);
      assert.equal((await connection.responses(1))[0]!.status, 201);
      // The deadline was armed before the answer reached us: it passes by then + 300 ms.
      const answeredAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Sent in time, then the event loop (the test's and the router's: one process) is held past
      // the deadline, so its timer comes due before the router has read the request, as under
      // load. Closing then reset the connection: the client got ECONNRESET for a post sent in time.
      connection.send(post);
      while (Date.now() < answeredAt + 400);
      assert.equal((await connection.responses(1, 2000))[0]!.status, 201);
      const idleFrom = Date.now();
      await connection.closed;
      const idleMs = Date.now() - idleFrom;
      assert.ok(idleMs >= 250 && idleMs < 3000, `closed after ${idleMs} ms idle`);
    } finally {
      connection.close();
      await router.close();
    }
  });

  it('at shutdown closes a kept-alive connection between requests, and not one with a request begun', async () => {
    const router = await startRouter(false, 5000, 60_000);
    const idle = await openRaw(router.url);
    const busy = await openRaw(router.url);
    try {
      for (let n = 0; n < 3; n++) {
        idle.send(post);
        assert.equal((await idle.responses(1))[0]!.status, 201);
      }
      // Idle once, then a post answered with the next request's head begun in the same chunk.
      busy.send(post);
      assert.equal((await busy.responses(1))[0]!.status, 201);
      busy.send(post + 'POST /post HTTP/1.1\r\nHost: t\r\n');
      assert.equal((await busy.responses(1))[0]!.status, 201);
      let busyEnded = false;
      void busy.closed.then(() => (busyEnded = true));
      router.closeIdle();
      await idle.closed;
      assert.equal(busyEnded, false);
      busy.send('Content-Length: 2\r\n\r\nhi');
      assert.equal((await busy.responses(1))[0]!.status, 201, 'the begun request is served');
    } finally {
      idle.close();
      busy.close();
      await router.close();
    }
  });

  it('writes a post answered at once before an event stream sent behind it in the same chunk', async () => {
    const router = await startRouter(false, 5000);
    const connection = await openRaw(router.url);
    try {
      const bytes: Buffer[] = [];
      connection.socket.on('data', (chunk: Buffer) => bytes.push(chunk));
      connection.send(post + rawRequest('GET', '/stream'));
      const [first, second] = await connection.responses(2, 2000);
      assert.deepEqual([first!.status, second!.status], [201, 200]);
      const text = Buffer.concat(bytes).toString('latin1');
      assert.ok(text.startsWith(CREATED), JSON.stringify(text));
      assert.equal(text.indexOf(STREAM_HEAD), CREATED.length);
    } finally {
      connection.close();
      await router.close();
    }
  });

  for (const version of ['1.1', '1.0']) {
    it(`survives a reset after the answer to a post that closes the connection (HTTP/${version})`, async () => {
      // Once answered, such a connection waits for the client's FIN with nothing of the router's
      // reading it; a reset then came as an 'error' with no listener, which ended the process.
      const router = await startRouter(false, 5000);
      try {
        const closing = await openRaw(router.url);
        closing.send(rawRequest('POST', '/post', version === '1.1' ? { Connection: 'close' } : {}, 'hi', version));
        assert.equal((await closing.responses(1, 2000))[0]!.status, 201);
        closing.socket.resetAndDestroy();
        // The server's side has seen the reset: had it been an unhandled 'error', the process
        // (and this test with it) would have ended first.
        await router.closedSides[0];
        const next = await openRaw(router.url);
        next.send(post);
        assert.equal((await next.responses(1, 2000))[0]!.status, 201);
        next.close();
      } finally {
        await router.close();
      }
    });
  }

  it('forgets a connection reset while its answer is pending: nothing is handed off or kept for it', async () => {
    let asked!: () => void;
    const wasAsked = new Promise<void>((resolve) => (asked = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const router = await startRouter({ asked: () => asked(), gate }, 5000);
    try {
      const connection = await openRaw(router.url);
      // The post waits for the gate; the GET behind it is the HTTP server's once it is answered.
      connection.send(post + rawRequest('GET', '/other'));
      await wasAsked;
      connection.socket.resetAndDestroy();
      await router.closedSides[0];
      open();
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(router.handedOff, [], 'a closed socket was handed to the HTTP server');
      // The same request on a live connection is handed off: the check above can fail.
      const live = await openRaw(router.url);
      live.send(post + rawRequest('GET', '/other'));
      const statuses = (await live.responses(2, 2000)).map((response) => response.status);
      assert.deepEqual(statuses, [201, 404]);
      assert.equal(router.handedOff.length, 1);
      live.close();
    } finally {
      await router.close();
    }
  });
});
