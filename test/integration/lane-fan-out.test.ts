// The post lane writing posts to a small room's viewers itself (native/lane-rooms.c, sse/lane-rooms.ts):
// each JSON viewer gets exactly the bytes the JavaScript path would have written, every message
// once and in the history's order, however the posts come (lane, Express, a form) and whenever
// the viewer joins; and a viewer that stops reading still gets the rest of every frame, in order.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { spawnNode, type NodeProcess } from '../helpers/node.js';
import { jsonPost, openRaw, type RawConnection } from '../helpers/raw-http.js';
import { openSse } from '../helpers/sse-reader.js';
import { waitUntil } from '../helpers/wait.js';

interface StoredMessage {
  id: string;
}

/** A viewer's raw bytes after its stream's head and preamble. */
interface RawViewer {
  socket: Socket;
  frames(): string;
  bytes(): number;
  close(): void;
}

function openRawViewer(url: string, stream: string, lastEventId?: string): Promise<RawViewer> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  let received = 0;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
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
    bytes: () => received,
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
    let lateAfter = '';
    const posts = 100;
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
          assert.equal((await connection.responses(1))[0]!.status, 201);
        }
        if (index === 49) {
          // Joins mid-stream, resuming after the 40th message: history, then live.
          lateAfter = (await history(node.url, stream))[39]!.id;
          late = await openRawViewer(node.url, stream, lateAfter);
        }
        await waitUntil(() => viewers.every((viewer) => viewer.frames().split('\n\n').length > index + 1), 5000, `post ${index} at every viewer`);
      }
      const stored = await history(node.url, stream);
      assert.equal(stored.length, posts);
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

  it('gives a viewer that stopped reading the rest of every frame, in order, once it reads again', async () => {
    const stream = 'fan-slow';
    const reading = await openRawViewer(node.url, stream);
    const slow = await openRawViewer(node.url, stream);
    slow.socket.pause();
    const connection = await openRaw(node.url);
    // Texts of 1,900 characters, three bytes each in UTF-8: the paused viewer's socket fills, and
    // the lane's sends to it take part of a frame, then nothing.
    const text = (index: number) => `${index} ${'✓'.repeat(1900)}`;
    const posts = 1500;
    try {
      for (let index = 0; index < posts; index++) {
        connection.send(jsonPost(stream, JSON.stringify({ author: 'lane', text: text(index) })));
        assert.equal((await connection.responses(1))[0]!.status, 201);
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
          connection.send(jsonPost('fan-reads', JSON.stringify({ author: 'lane', text: `post ${index}` })));
          assert.equal((await connection.responses(1))[0]!.status, 201);
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
        connection.send(jsonPost(stream, JSON.stringify({ author: 'lane', text: `before ${round}` })));
        assert.equal((await connection.responses(1))[0]!.status, 201);
        await waitUntil(() => leaving.frames().includes(`before ${round}`), 5000, 'the post at the leaving viewer');
        leaving.socket.resetAndDestroy();
        // A new viewer of another stream, likely on the descriptor just freed: it must see none of these posts.
        const other = await openRawViewer(node.url, 'fan-other');
        connection.send(jsonPost(stream, JSON.stringify({ author: 'lane', text: `after ${round}` })));
        assert.equal((await connection.responses(1))[0]!.status, 201);
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
