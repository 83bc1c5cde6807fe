// Direct socket writes (native/socket-writer.ts) on real loopback sockets: what the kernel takes
// goes by send(2), what it does not take and everything after it goes through Node in order, a
// reset peer is reported as Node reports it, and an ended or destroyed socket is never written
// directly. The send calls are the real addon's, counted.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { loadSocketWriter, SocketWriter, type SocketWriterCalls } from '../../server/native/socket-writer.js';
import { spawnNode, startTestNode } from '../helpers/node.js';
import { openSse } from '../helpers/sse-reader.js';
import { waitUntil } from '../helpers/wait.js';

describe('direct socket writes', function () {
  this.timeout(20_000);
  let native: SocketWriterCalls;
  let server: Server;
  const sockets: Socket[] = [];

  before(async function () {
    if (process.platform !== 'linux') this.skip();
    const loaded = loadSocketWriter();
    // Optional for users, not here: a broken build must not pass as "not Linux".
    if (loaded.kind !== 'direct') assert.fail(`socket-writer.c is not loaded: ${loaded.reason}`);
    native = loaded.calls;
    server = createServer({ noDelay: true });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
  });

  after(() => server?.close());

  /** The server's end and the client's end of one new connection. */
  async function pair(): Promise<{ ours: Socket; peer: Socket }> {
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const peer = connect((server.address() as { port: number }).port, '127.0.0.1');
    const [ours] = await accepted;
    await once(peer, 'connect');
    sockets.push(ours, peer);
    return { ours, peer };
  }

  /** The real calls, with every result kept. */
  function counted(): { calls: SocketWriterCalls; results: number[]; manyCalls: number[] } {
    const results: number[] = [];
    const manyCalls: number[] = [];
    return {
      results,
      manyCalls,
      calls: {
        send(fd, bytes) {
          const sent = native.send(fd, bytes);
          results.push(sent);
          return sent;
        },
        sendText(fd, text) {
          const left = native.sendText(fd, text);
          results.push(left);
          return left;
        },
        textMaxUnits: native.textMaxUnits,
        sendMany(fds, count, bytes, out) {
          native.sendMany(fds, count, bytes, out);
          manyCalls.push(count);
          for (let i = 0; i < count; i++) results.push(out[i]!);
        },
      },
    };
  }

  /** Everything the peer reads until `length` bytes arrived. */
  async function readBytes(peer: Socket, length: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let received = 0;
    peer.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    });
    peer.resume();
    await waitUntil(() => received >= length, 10_000, `${length} bytes at the peer`);
    return Buffer.concat(chunks);
  }

  it('writes with send(2) while nothing is queued in Node, and the peer gets exactly the bytes', async () => {
    const { ours, peer } = await pair();
    const { calls, results } = counted();
    const writer = new SocketWriter(calls);
    const frames = ['id: 1\ndata: a\n\n', 'id: 2\ndata: é\n\n', 'id: 3\ndata: c\n\n'].map((text) => Buffer.from(text));
    const fd = writer.descriptor(ours);
    assert.ok(fd >= 0, 'a loopback socket has a descriptor');
    for (const frame of frames) writer.write(ours, fd, frame);
    assert.deepEqual(results, frames.map((frame) => frame.length));
    assert.equal(ours.writableLength, 0, 'Node was given nothing');
    const expected = Buffer.concat(frames);
    assert.deepEqual(await readBytes(peer, expected.length), expected);
  });

  it('queues in Node what the kernel does not take, keeps later writes behind it, and delivers all in order', async () => {
    const { ours, peer } = await pair();
    peer.pause();
    const { calls, results } = counted();
    const writer = new SocketWriter(calls);
    // Numbered chunks, each byte telling its chunk, until the peer's and our buffers are full.
    const chunk = (n: number) => Buffer.alloc(64 * 1024, n % 251);
    const written: Buffer[] = [];
    const fd = writer.descriptor(ours);
    for (let n = 0; ours.writableLength === 0; n++) {
      assert.ok(n < 2000, 'the kernel never filled up');
      written.push(chunk(n));
      writer.write(ours, fd, written.at(-1)!);
    }
    const directCalls = results.length;
    assert.ok(results.at(-1)! < 64 * 1024, `the last send was short: ${results.at(-1)}`);
    for (let n = written.length, end = n + 5; n < end; n++) {
      written.push(chunk(n));
      writer.write(ours, fd, written.at(-1)!);
    }
    assert.equal(results.length, directCalls, 'behind queued bytes nothing went by send(2)');
    const expected = Buffer.concat(written);
    const received = await readBytes(peer, expected.length);
    assert.equal(received.length, expected.length);
    assert.ok(received.equals(expected), 'bytes arrived in the order written');
    // Drained: the socket goes direct again.
    await waitUntil(() => ours.writableLength === 0, 5000, 'the queue to drain');
    writer.write(ours, fd, Buffer.from('after\n'));
    assert.equal(results.length, directCalls + 1);
  });

  it('closes the socket of a reset peer with the error socket.write would report', async () => {
    const { ours, peer } = await pair();
    // Not reading: the reset is found by the write, not by a read.
    ours.pause();
    const errors: NodeJS.ErrnoException[] = [];
    ours.on('error', (error) => errors.push(error));
    // Not events.once: it rejects on the 'error' that comes first.
    const closed = new Promise<boolean>((resolve) => ours.once('close', resolve));
    peer.resetAndDestroy();
    await once(peer, 'close');
    const { calls, results } = counted();
    const writer = new SocketWriter(calls);
    writer.write(ours, writer.descriptor(ours), Buffer.from('data: lost\n\n'));
    assert.equal(results.length, 1);
    assert.ok(results[0]! < 0, `send reported an error: ${results[0]}`);
    assert.equal(await closed, true, 'closed with an error');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'ECONNRESET');
    assert.equal(errors[0]!.syscall, 'write');
  });

  it("sends a frame held for several sockets in one call at the commit, each socket's bytes in order", async () => {
    const pairs = [await pair(), await pair(), await pair()];
    const { calls, results, manyCalls } = counted();
    const writer = new SocketWriter(calls);
    const first = Buffer.from('id: 1\ndata: one\n\n');
    const second = Buffer.from('id: 2\ndata: two\n\n');
    // The third socket has bytes queued in Node: its frames go behind them, through Node.
    const queued = pairs[2]!;
    queued.ours.cork();
    queued.ours.write('data: queued\n\n');
    for (const { ours } of pairs) writer.writeShared(ours, writer.descriptor(ours), first);
    assert.deepEqual(manyCalls, [], 'held until the commit');
    // Other bytes: what was held for the first frame goes now, in one call for both sockets.
    for (const { ours } of pairs) writer.writeShared(ours, writer.descriptor(ours), second);
    assert.deepEqual(manyCalls, [2]);
    writer.commit();
    assert.deepEqual(manyCalls, [2, 2]);
    assert.deepEqual(results, [first.length, first.length, second.length, second.length]);
    queued.ours.uncork();
    const expected = Buffer.concat([first, second]);
    for (const { peer } of pairs.slice(0, 2)) assert.deepEqual(await readBytes(peer, expected.length), expected);
    const behind = Buffer.concat([Buffer.from('data: queued\n\n'), expected]);
    assert.deepEqual(await readBytes(queued.peer, behind.length), behind);
  });

  it('hands Node what the kernel did not take of a held frame, after what it took', async () => {
    const { ours, peer } = await pair();
    peer.pause();
    // The kernel's buffers filled by send(2) alone, so that Node holds nothing.
    const filler: Buffer[] = [];
    const fd = new SocketWriter(native).descriptor(ours);
    for (let n = 0; ; n++) {
      assert.ok(n < 2000, 'the kernel never filled up');
      const chunk = Buffer.alloc(64 * 1024, n % 251);
      const sent = native.send(fd, chunk);
      if (sent > 0) filler.push(chunk.subarray(0, sent));
      if (sent < chunk.length) break;
    }
    assert.equal(ours.writableLength, 0);
    const { calls, results } = counted();
    const writer = new SocketWriter(calls);
    const frame = Buffer.alloc(32 * 1024, 7);
    writer.writeShared(ours, fd, frame);
    writer.commit();
    assert.ok(results[0]! >= 0 && results[0]! < frame.length, `a short send: ${results[0]}`);
    assert.equal(ours.writableLength, frame.length - results[0]!, 'the rest is queued in Node');
    const expected = Buffer.concat([...filler, frame]);
    const received = await readBytes(peer, expected.length);
    assert.ok(received.equals(expected), 'bytes arrived in the order written');
  });

  it('closes only the socket whose peer reset, when a held frame goes to several', async () => {
    const good = await pair();
    const reset = await pair();
    reset.ours.pause();
    const errors: NodeJS.ErrnoException[] = [];
    reset.ours.on('error', (error) => errors.push(error));
    const closed = new Promise<boolean>((resolve) => reset.ours.once('close', resolve));
    reset.peer.resetAndDestroy();
    await once(reset.peer, 'close');
    const { calls, results } = counted();
    const writer = new SocketWriter(calls);
    const frame = Buffer.from('data: shared\n\n');
    writer.writeShared(reset.ours, writer.descriptor(reset.ours), frame);
    writer.writeShared(good.ours, writer.descriptor(good.ours), frame);
    writer.commit();
    assert.ok(results[0]! < 0 && results[1] === frame.length, `results ${results}`);
    assert.equal(await closed, true);
    assert.equal(errors[0]!.code, 'ECONNRESET');
    assert.deepEqual(await readBytes(good.peer, frame.length), frame);
  });

  it('never writes an ended or destroyed socket directly, though its descriptor was read while open', async () => {
    const { calls, results } = counted();
    const writer = new SocketWriter(calls);
    const ended = (await pair()).ours;
    const errors: NodeJS.ErrnoException[] = [];
    ended.on('error', (error) => errors.push(error));
    const endedFd = writer.descriptor(ended);
    ended.end();
    writer.write(ended, endedFd, Buffer.from('data: late\n\n'));
    await waitUntil(() => errors.length > 0, 2000, 'the write-after-end error');
    assert.equal(errors[0]!.code, 'ERR_STREAM_WRITE_AFTER_END');
    const destroyed = (await pair()).ours;
    const destroyedFd = writer.descriptor(destroyed);
    assert.ok(endedFd >= 0 && destroyedFd >= 0);
    destroyed.destroy();
    // The number is closed now, and the next connection accepted may be given it.
    writer.write(destroyed, destroyedFd, Buffer.from('data: late\n\n'));
    assert.deepEqual(results, [], 'no send(2) on either');
  });

  it('never writes a TLS socket’s descriptor, which carries the encrypted stream', async () => {
    const { calls, results } = counted();
    const { ours } = await pair();
    const tls = new TLSSocket(ours, { isServer: true });
    sockets.push(tls);
    tls.on('error', () => {});
    assert.equal(typeof (tls as unknown as { _handle: { fd?: number } })._handle.fd, 'number', 'its handle does report a descriptor');
    const writer = new SocketWriter(calls);
    assert.equal(writer.descriptor(tls), -1);
    writer.write(tls, writer.descriptor(tls), Buffer.from('data: secret\n\n'));
    assert.deepEqual(results, []);
  });

  it('writes a text as UTF-8 with send(2) while nothing is queued in Node', async () => {
    const { ours, peer } = await pair();
    const { calls, results } = counted();
    const writer = new SocketWriter(calls);
    const texts = ['HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}', 'é, 漢字 and 🙂', 'x'.repeat(4096)];
    const fd = writer.descriptor(ours);
    for (const text of texts) writer.writeText(ours, fd, text);
    assert.deepEqual(results, [0, 0, 0], 'the kernel took every byte of each');
    assert.equal(ours.writableLength, 0, 'Node was given nothing');
    const expected = Buffer.from(texts.join(''), 'utf8');
    assert.deepEqual(await readBytes(peer, expected.length), expected);
  });

  it('hands Node the bytes of a text the kernel did not take, and a text too long to encode on the stack', async () => {
    const { ours, peer } = await pair();
    peer.pause();
    const { calls, results } = counted();
    const writer = new SocketWriter(calls);
    const fd = writer.descriptor(ours);
    // The kernel's buffers filled by hand, so that Node holds nothing yet.
    const filler: Buffer[] = [];
    for (let n = 0; ; n++) {
      assert.ok(n < 100_000, 'the kernel never filled up');
      const chunk = Buffer.alloc(1024, n % 251);
      const sent = native.send(fd, chunk);
      if (sent > 0) filler.push(chunk.subarray(0, sent));
      if (sent < chunk.length) break;
    }
    assert.equal(ours.writableLength, 0);
    const answer = 'HTTP/1.1 201 Created\r\n\r\nété';
    writer.writeText(ours, fd, answer);
    const left = results.at(-1)!;
    assert.ok(left > 0 && left <= Buffer.byteLength(answer), `bytes left to Node: ${left}`);
    assert.ok(ours.writableLength > 0, 'Node holds the rest');
    const long = 'y'.repeat(4097);
    writer.writeText(ours, fd, long);
    assert.equal(results.length, 1, 'behind queued bytes, and for the long text, no send(2)');
    const expected = Buffer.concat([...filler, Buffer.from(answer + long, 'utf8')]);
    const received = await readBytes(peer, expected.length);
    assert.ok(received.equals(expected), 'bytes arrived in the order written');
  });

  it('refuses what is not a descriptor and bytes', async () => {
    const { ours } = await pair();
    const fd = (ours as unknown as { _handle: { fd: number } })._handle.fd;
    assert.throws(() => native.send(-1, Buffer.from('x')), TypeError);
    assert.throws(() => native.send(fd + 0.5, Buffer.from('x')), TypeError);
    assert.throws(() => native.send(2 ** 32 + fd, Buffer.from('x')), TypeError);
    assert.throws(() => native.send(fd, 'x' as unknown as Uint8Array), TypeError);
    assert.throws(() => native.send(fd, new Uint16Array(2) as unknown as Uint8Array), TypeError);
    assert.equal(native.send(fd, Buffer.alloc(0)), 0);
    assert.throws(() => native.sendText(-1, 'x'), TypeError);
    assert.throws(() => native.sendText(fd, Buffer.from('x') as unknown as string), TypeError);
    assert.equal(native.textMaxUnits, 4096);
    assert.throws(() => native.sendText(fd, 'z'.repeat(4097)), RangeError);
    assert.equal(native.sendText(fd, ''), 0);
  });

  it('a node says at start that it writes directly, and not with DIRECT_WRITES=off', async () => {
    for (const [setting, expected] of [['on', true], ['off', false]] as const) {
      const node = await spawnNode({ DIRECT_WRITES: setting });
      try {
        assert.equal(/"msg":"direct socket writes"/.test(node.output()), expected, `DIRECT_WRITES=${setting}:\n${node.output()}`);
      } finally {
        await node.stop(2000);
      }
    }
  });

  it('a node with DIRECT_WRITES=off streams through socket.write', async () => {
    const node = await startTestNode({ DIRECT_WRITES: 'off' });
    try {
      const viewer = await openSse(`${node.url}/streams/plain/events`);
      const posted = await fetch(`${node.url}/streams/plain/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ author: 'ann', text: 'hello' }) });
      assert.equal(posted.status, 201);
      const [event] = await viewer.messages(1);
      assert.equal(JSON.parse(event!.data).text, 'hello');
      viewer.close();
    } finally {
      await node.close();
    }
  });
});
