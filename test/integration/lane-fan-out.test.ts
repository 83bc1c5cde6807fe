// The post lane writing posts to a small room's viewers itself (native/lane-rooms.c, sse/lane-rooms.ts):
// each JSON viewer gets exactly the bytes the JavaScript path would have written, every message
// once and in the history's order, however the posts come (lane, Express, a form) and whenever
// the viewer joins; and a viewer that stops reading still gets the rest of every frame, in order.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { spawnNode, type NodeProcess } from '../helpers/node.js';
import { jsonPost, openRaw, type RawConnection, type RawResponse } from '../helpers/raw-http.js';
import { openSse } from '../helpers/sse-reader.js';
import { waitUntil } from '../helpers/wait.js';

interface StoredMessage {
  id: string;
}

/** A viewer's raw bytes after its stream's head and preamble. */
interface RawViewer {
  socket: Socket;
  frames(): string;
  /** Events received so far (frames after the preamble), counted as they arrive. */
  events(): number;
  /** Resolves once `count` events have arrived. */
  untilEvents(count: number): Promise<void>;
  close(): void;
}

function openRawViewer(url: string, stream: string, lastEventId?: string): Promise<RawViewer> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  // Blank lines seen: the preamble's, then one per event.
  let blankLines = 0;
  let previous = 0;
  let waiting: { count: number; resolve: () => void } | null = null;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    for (const byte of chunk) {
      if (byte === 0x0a && previous === 0x0a) blankLines++;
      previous = byte;
    }
    if (waiting && blankLines - 1 >= waiting.count) {
      waiting.resolve();
      waiting = null;
    }
  });
  socket.on('error', () => {});
  const all = () => Buffer.concat(chunks).toString('utf8');
  const viewer: RawViewer = {
    socket,
    frames() {
      const text = all();
      const head = text.indexOf('\r\n\r\n');
      const preamble = text.indexOf(': connected\n\n', head);
      return preamble < 0 ? '' : text.slice(preamble + ': connected\n\n'.length);
    },
    events: () => Math.max(0, blankLines - 1),
    untilEvents: (count) =>
      blankLines - 1 >= count
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${blankLines - 1} events of ${count} after 5 s`)), 5000);
            waiting = {
              count,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            };
          }),
    close: () => socket.destroy(),
  };
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      const resume = lastEventId ? `Last-Event-ID: ${lastEventId}\r\n` : '';
      socket.write(`GET /streams/${stream}/events HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n${resume}\r\n`);
    });
    const opened = () => {
      if (!all().includes(': connected\n\n')) return;
      socket.off('data', opened);
      resolve(viewer);
    };
    socket.on('data', opened);
  });
}

/** Posts `text` as `lane` on the connection and waits for its 201. */
async function post(connection: RawConnection, stream: string, text: string): Promise<void> {
  connection.send(jsonPost(stream, JSON.stringify({ author: 'lane', text })));
  assert.equal((await connection.responses(1))[0]!.status, 201);
}

/** 1,900 characters of three bytes each in UTF-8 after the index: a post of about 5.8 KB. */
const bigText = (index: number) => `${index} ${'✓'.repeat(1900)}`;

/** The frame the JavaScript path writes for a stored message. */
function frameOf(message: StoredMessage): string {
  return `id: ${message.id}\ndata: ${JSON.stringify(message)}\n\n`;
}

async function history(url: string, stream: string): Promise<StoredMessage[]> {
  const page = (await (await fetch(`${url}/streams/${stream}/messages?limit=10000`)).json()) as { messages: StoredMessage[] };
  return page.messages;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1]);
}

describe('the post lane writing to small rooms itself', function () {
  this.timeout(60_000);
  let node: NodeProcess;

  before(async function () {
    if (process.platform !== 'linux') this.skip();
    // A node of its own, as a server runs; no heartbeats in the bytes compared.
    node = await spawnNode({ HEARTBEAT_MS: '3600000', SLOW_CLIENT_BYTES: String(256 * 1024 * 1024), HISTORY_SIZE: '10000' });
  });
  after(() => node?.stop());

  it('writes every post once to every viewer, in order, with the bytes Node writes, lane, Express and form posts mixed', async () => {
    const stream = 'fan-mixed';
    const viewers = await Promise.all(Array.from({ length: 4 }, () => openRawViewer(node.url, stream)));
    const html = await openSse(`${node.url}/streams/${stream}/events?format=html`);
    const fannedBefore = await metric(node.url, 'sse_chat_post_lane_fanout_posts_total');
    const laneBefore = await metric(node.url, 'sse_chat_post_lane_posts_total');
    const connection: RawConnection = await openRaw(node.url);
    let late: RawViewer | null = null;
    const posts = 100;
    const answers: RawResponse[] = [];
    try {
      for (let index = 0; index < posts; index++) {
        if (index % 10 === 5) {
          // A form post, through Express, on a connection of its own.
          const response = await fetch(`${node.url}/streams/${stream}/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ author: 'form', text: `form ${index}` }),
            redirect: 'manual',
          });
          assert.equal(response.status, 303);
        } else {
          connection.send(jsonPost(stream, JSON.stringify({ author: 'lane', text: `post ${index} ünïcode ✓ 𝄞` })));
          const [answer] = await connection.responses(1);
          assert.equal(answer!.status, 201);
          answers.push(answer!);
        }
        if (index === 49) {
          // Joins mid-stream, resuming after the 40th message: history, then live.
          late = await openRawViewer(node.url, stream, (await history(node.url, stream))[39]!.id);
        }
        await waitUntil(() => viewers.every((viewer) => viewer.events() > index), 5000, `post ${index} at every viewer`);
      }
      const stored = await history(node.url, stream);
      assert.equal(stored.length, posts);
      // Each answer, the lane's or Node's, as the fast path writes it: the stored message, where it is.
      const laneStored = stored.filter((message) => (message as StoredMessage & { author: string }).author === 'lane');
      assert.equal(answers.length, laneStored.length);
      for (const [index, answer] of answers.entries()) {
        const message = laneStored[index]!;
        assert.deepEqual(JSON.parse(answer.body), message);
        assert.equal(answer.body, JSON.stringify(message));
        assert.deepEqual(
          answer.headers.map(([name]) => name),
          ['location', 'content-type', 'content-length', 'date', 'connection', 'keep-alive'],
        );
        assert.equal(answer.header('location'), `/streams/${stream}/messages?after=${message.id}`);
        assert.equal(answer.header('content-length'), String(Buffer.byteLength(answer.body)));
        assert.match(answer.header('date')!, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/);
        assert.equal(answer.header('keep-alive'), 'timeout=5');
      }
      const expected = stored.map(frameOf).join('');
      await waitUntil(() => viewers.every((viewer) => viewer.frames().length >= expected.length), 5000, 'every frame at every viewer');
      for (const viewer of viewers) assert.equal(viewer.frames(), expected);
      const lateExpected = stored.slice(40).map(frameOf).join('');
      await waitUntil(() => late!.frames().length >= lateExpected.length, 5000, 'every frame at the late viewer');
      assert.equal(late!.frames(), lateExpected);
      await html.messages(posts);
      // The lane read every post on the kept-alive connection but its first, and wrote each of them
      // to the viewers itself: the stream's room knew its newest id from the first post on.
      const lanePosts = (await metric(node.url, 'sse_chat_post_lane_posts_total')) - laneBefore;
      assert.equal(lanePosts, 89);
      assert.equal((await metric(node.url, 'sse_chat_post_lane_fanout_posts_total')) - fannedBefore, lanePosts);
    } finally {
      connection.close();
      for (const viewer of viewers) viewer.close();
      late?.close();
      html.close();
    }
  });

  it('answers pipelined posts in order when some are the lane\'s to answer and some JavaScript\'s', async () => {
    const viewer = await openRawViewer(node.url, 'fan-pipe');
    const connection = await openRaw(node.url);
    try {
      await post(connection, 'fan-pipe', 'first');
      // In one write: to the room (the lane answers), to a stream nobody views (JavaScript does), then
      // to the room again (JavaScript's turn now, after the answer it owes).
      const order = ['fan-pipe', 'fan-pipe', 'fan-nobody', 'fan-pipe', 'fan-nobody', 'fan-pipe'];
      connection.send(Buffer.concat(order.map((stream, index) => Buffer.from(jsonPost(stream, JSON.stringify({ author: 'lane', text: `pipelined ${index}` }))))));
      const answers = await connection.responses(order.length);
      assert.deepEqual(
        answers.map((answer) => [answer.status, (JSON.parse(answer.body) as { stream: string; text: string }).stream, (JSON.parse(answer.body) as { text: string }).text]),
        order.map((stream, index) => [201, stream, `pipelined ${index}`]),
      );
      const expected = (await history(node.url, 'fan-pipe')).map(frameOf).join('');
      await waitUntil(() => viewer.frames().length >= expected.length, 5000, 'every frame at the viewer');
      assert.equal(viewer.frames(), expected);
    } finally {
      connection.close();
      viewer.close();
    }
  });

  it('answers every post, in order, to a poster that stops reading its answers for a while', async () => {
    const stream = 'fan-poster';
    const viewer = await openRawViewer(node.url, stream);
    const connection = await openRaw(node.url);
    // 18 MB of answers: more than loopback's buffers hold for a reader that does not read.
    const posts = 3000;
    try {
      await post(connection, stream, 'first');
      // Its answers, about 5.8 KB each, fill the socket: the lane's sends take part of one, then none.
      // Each post is sent once the one before reached the viewer, so that the lane reads it whole
      // (Node reads a connection whose read ends inside a post, and stops reading one whose answers
      // are not read).
      connection.socket.pause();
      for (let index = 0; index < posts; index++) {
        connection.send(jsonPost(stream, JSON.stringify({ author: 'lane', text: bigText(index) })));
        await viewer.untilEvents(index + 2);
      }
      connection.socket.resume();
      const answers = await connection.responses(posts, 20_000);
      const stored = (await history(node.url, stream)).slice(1);
      assert.equal(stored.length, posts);
      for (const [index, answer] of answers.entries()) {
        assert.equal(answer.status, 201);
        assert.equal(answer.body, JSON.stringify(stored[index]));
        assert.equal((stored[index] as StoredMessage & { text: string }).text, bigText(index));
      }
    } finally {
      connection.close();
      viewer.close();
    }
  });

  it('gives a viewer that stopped reading the rest of every frame, in order, once it reads again', async () => {
    const stream = 'fan-slow';
    const reading = await openRawViewer(node.url, stream);
    const slow = await openRawViewer(node.url, stream);
    slow.socket.pause();
    const connection = await openRaw(node.url);
    // The paused viewer's socket fills, and the lane's sends to it take part of a frame, then nothing.
    const posts = 1500;
    try {
      for (let index = 0; index < posts; index++) {
        await post(connection, stream, bigText(index));
      }
      const stored = await history(node.url, stream);
      assert.equal(stored.length, posts);
      const expected = stored.map(frameOf).join('');
      await waitUntil(() => reading.frames().length >= expected.length, 20_000, 'every frame at the reading viewer');
      assert.equal(reading.frames(), expected);
      // Far more than the kernel buffers for a paused reader on loopback.
      assert.ok(Buffer.byteLength(expected) > 8 * 1024 * 1024);
      slow.socket.resume();
      await waitUntil(() => slow.frames().length >= expected.length, 20_000, 'every frame at the viewer that paused');
      assert.equal(slow.frames(), expected);
    } finally {
      connection.close();
      reading.close();
      slow.close();
    }
  });

  it('leaves the writing to JavaScript with POST_LANE=reads, and still reads the posts in C', async () => {
    const reads = await spawnNode({ POST_LANE: 'reads', HISTORY_SIZE: '10000' });
    try {
      const viewer = await openRawViewer(reads.url, 'fan-reads');
      const connection = await openRaw(reads.url);
      try {
        for (let index = 0; index < 10; index++) {
          await post(connection, 'fan-reads', `post ${index}`);
        }
        const expected = (await history(reads.url, 'fan-reads')).map(frameOf).join('');
        await waitUntil(() => viewer.frames().length >= expected.length, 5000, 'every frame at the viewer');
        assert.equal(viewer.frames(), expected);
      } finally {
        connection.close();
        viewer.close();
      }
      assert.equal(await metric(reads.url, 'sse_chat_post_lane_posts_total'), 9);
      assert.equal(await metric(reads.url, 'sse_chat_post_lane_fanout_posts_total'), 0);
    } finally {
      await reads.stop();
    }
  });

  it('goes on writing to the others when a viewer resets, and never writes to a connection that takes its descriptor', async () => {
    const stream = 'fan-reset';
    const staying = await openRawViewer(node.url, stream);
    const connection = await openRaw(node.url);
    try {
      for (let round = 0; round < 20; round++) {
        const leaving = await openRawViewer(node.url, stream);
        await post(connection, stream, `before ${round}`);
        await waitUntil(() => leaving.frames().includes(`before ${round}`), 5000, 'the post at the leaving viewer');
        leaving.socket.resetAndDestroy();
        // A new viewer of another stream, likely on the descriptor just freed: it must see none of these posts.
        const other = await openRawViewer(node.url, 'fan-other');
        await post(connection, stream, `after ${round}`);
        await waitUntil(() => staying.frames().includes(`after ${round}`), 5000, 'the post at the staying viewer');
        assert.equal(other.frames(), '');
        other.close();
      }
      const stored = await history(node.url, stream);
      assert.equal(staying.frames(), stored.map(frameOf).join(''));
    } finally {
      connection.close();
      staying.close();
    }
  });
});
