// The publisher worker process: posts JSON messages over raw keep-alive sockets (pipelined when
// paced, one at a time per connection when closed-loop), each carrying its stream sequence number
// and send time in the text, and counts the answers. Raw sockets keep it far cheaper per request
// than the servers under test, which matters in the publish scenario.
import net from 'node:net';
import { markerText, nowUs, type PublishPlan, type PublishResult, type PublishTarget } from './protocol.js';
import { serveParent } from './rpc.js';

/** Next sequence number per POST path, kept across runs so saturation steps extend one stream. */
const nextSeq = new Map<string, number>();

type AnswerHandler = (connection: PublisherConnection, item: Outstanding, status: number) => void;
type LostHandler = (connection: PublisherConnection, items: Outstanding[], reason: string) => void;

/** Connections a run with `keepConnections` left open, per port, for the next run to take. */
const keptConnections = new Map<number, PublisherConnection[]>();

interface Outstanding {
  stream: number;
}

/** One keep-alive connection and the answers it still owes, in order. */
class PublisherConnection {
  private readonly socket: net.Socket;
  private readonly outstanding: Outstanding[] = [];
  private head = 0;
  private pending = '';
  alive = true;
  /** When it was last given a request or gave an answer (us). */
  lastActiveUs = nowUs();
  /** How long the server keeps it open idle, from `Keep-Alive: timeout=N` (us); unknown: never reused past 4 s. */
  private idleLimitUs = 4_000_000;
  /** The first answer's head told the idle limit, if the server gives one: later heads say the same. */
  private idleLimitRead = false;

  constructor(
    public target: PublishTarget,
    private onAnswer: AnswerHandler,
    private onLost: LostHandler,
  ) {
    this.socket = net.connect({ port: target.port, host: '127.0.0.1' });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('error', (error) => this.lose(error.message));
    this.socket.on('close', () => this.lose('connection closed'));
  }

  get inFlight(): number {
    return this.outstanding.length - this.head;
  }

  send(request: string, item: Outstanding): void {
    this.outstanding.push(item);
    this.lastActiveUs = nowUs();
    this.socket.write(request);
  }

  /**
   * Idle for nearly as long as the server keeps it: a request sent now could cross the server's
   * close (HTTP/1.1's keep-alive race) and be lost. Retired a second early, as HTTP clients do.
   */
  nearIdleLimit(now: number): boolean {
    return this.inFlight === 0 && now - this.lastActiveUs > this.idleLimitUs - 1_000_000;
  }

  close(): void {
    this.alive = false;
    this.socket.destroy();
  }

  /** Taken over by a later run (keepConnections): its answers now count there. */
  adopt(target: PublishTarget, onAnswer: AnswerHandler, onLost: LostHandler): void {
    this.target = target;
    this.onAnswer = onAnswer;
    this.onLost = onLost;
  }

  private lose(reason: string): void {
    if (!this.alive && this.inFlight === 0) return;
    this.alive = false;
    const lost = this.outstanding.slice(this.head);
    this.outstanding.length = 0;
    this.head = 0;
    this.socket.destroy();
    this.onLost(this, lost, reason);
  }

  /** Splits the byte stream into answers: status line, headers, then a Content-Length or chunked body. */
  private read(chunk: Buffer): void {
    this.pending += chunk.toString('latin1');
    // Requests sent in answer to this read leave in one write (closed-loop pipelining).
    this.socket.cork();
    try {
      this.readAnswers();
    } finally {
      if (!this.socket.destroyed) this.socket.uncork();
    }
  }

  private readAnswers(): void {
    for (;;) {
      const headEnd = this.pending.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = this.pending.slice(0, headEnd);
      const status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      let end: number;
      if (length) {
        end = headEnd + 4 + Number(length[1]);
        if (this.pending.length < end) return;
      } else if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
        const last = this.pending.indexOf('0\r\n\r\n', headEnd + 4);
        if (last < 0) return;
        end = last + 5;
      } else end = headEnd + 4;
      this.pending = this.pending.slice(end);
      this.lastActiveUs = nowUs();
      if (!this.idleLimitRead) {
        this.idleLimitRead = true;
        const keepAlive = /\r\nkeep-alive:[^\r]*timeout=(\d+)/i.exec(head);
        if (keepAlive) this.idleLimitUs = Number(keepAlive[1]) * 1_000_000;
      }
      const item = this.outstanding[this.head++];
      if (this.head > 1024 && this.head * 2 > this.outstanding.length) {
        this.outstanding.splice(0, this.head);
        this.head = 0;
      }
      if (item) this.onAnswer(this, item, status);
      if (/\r\nconnection:\s*close/i.test(head)) this.lose('server closed the connection');
    }
  }
}

function run(plan: PublishPlan): Promise<PublishResult> {
  const result: PublishResult = {
    okPerStream: plan.paths.map(() => 0),
    sent: 0,
    ok: 0,
    failed: 0,
    statuses: {},
    errors: [],
    firstSendUs: 0,
    lastSendUs: 0,
    lastAnswerUs: 0,
    maxQueued: 0,
    maxLagMs: 0,
  };
  const pools = plan.targets.map(() => [] as PublisherConnection[]);
  const queues = plan.targets.map(() => [] as number[]); // stream indexes waiting (paced mode)
  let queued = 0;
  let answered = 0;
  let stopped = false;

  const note = (error: string) => {
    if (result.errors.length < 5 && !result.errors.includes(error)) result.errors.push(error);
  };

  const requestFor = (stream: number, node: number): string => {
    const path = plan.paths[stream]!;
    const seq = nextSeq.get(path) ?? 0;
    nextSeq.set(path, seq + 1);
    const sendUs = nowUs();
    if (result.firstSendUs === 0) result.firstSendUs = sendUs;
    result.lastSendUs = sendUs;
    result.sent++;
    const body = `{"author":"bench","text":"${markerText(seq, sendUs, node)}"}`;
    return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  };

  const sendOn = (connection: PublisherConnection, stream: number) => {
    connection.send(requestFor(stream, connection.target.node), { stream });
  };

  const onAnswer = (connection: PublisherConnection, item: Outstanding, status: number) => {
    if (stopped) return;
    answered++;
    result.lastAnswerUs = nowUs();
    result.statuses[status] = (result.statuses[status] ?? 0) + 1;
    if (status >= 200 && status < 300) {
      result.ok++;
      result.okPerStream[item.stream]!++;
    } else result.failed++;
    afterAnswer(connection, false);
  };

  const onLost = (connection: PublisherConnection, items: Outstanding[], reason: string) => {
    if (stopped) return;
    answered += items.length;
    result.failed += items.length;
    if (items.length) note(`${items.length} lost: ${reason}`);
    const pool = pools[plan.targets.indexOf(connection.target)]!;
    pool.splice(pool.indexOf(connection), 1);
    afterAnswer(connection, true);
  };

  if (plan.mode === 'paced' && plan.keepConnections) {
    plan.targets.forEach((target, index) => {
      for (const connection of keptConnections.get(target.port)?.splice(0) ?? []) {
        if (!connection.alive) continue;
        connection.adopt(target, onAnswer, onLost);
        pools[index]!.push(connection);
      }
    });
  }

  const freshConnection = (targetIndex: number): PublisherConnection => {
    const connection = new PublisherConnection(plan.targets[targetIndex]!, onAnswer, onLost);
    pools[targetIndex]!.push(connection);
    return connection;
  };

  /** The connection with the fewest answers owed, opening one while the pool is not full. */
  const pick = (targetIndex: number): PublisherConnection | null => {
    const pool = pools[targetIndex]!;
    const now = nowUs();
    for (let index = pool.length - 1; index >= 0; index--) {
      const connection = pool[index]!;
      if (!connection.nearIdleLimit(now)) continue;
      pool.splice(index, 1);
      connection.close();
    }
    let best: PublisherConnection | null = null;
    for (const connection of pool) if (!best || connection.inFlight < best.inFlight) best = connection;
    if ((!best || best.inFlight > 0) && pool.length < plan.connectionsPerTarget) return freshConnection(targetIndex);
    return best && best.inFlight < plan.maxInFlight ? best : null;
  };

  let afterAnswer: (connection: PublisherConnection, lost: boolean) => void;

  return new Promise((resolve) => {
    const startUs = nowUs();
    const endUs = startUs + plan.durationMs * 1000;
    const finish = () => {
      if (stopped) return;
      stopped = true;
      pools.forEach((pool, index) => {
        const port = plan.targets[index]!.port;
        for (const connection of pool.splice(0)) {
          // One still owing answers would hand them to a run that never asked.
          if (plan.mode === 'paced' && plan.keepConnections && connection.alive && connection.inFlight === 0) {
            let kept = keptConnections.get(port);
            if (!kept) keptConnections.set(port, (kept = []));
            kept.push(connection);
          } else connection.close();
        }
      });
      resolve(result);
    };
    const maybeDone = (allSent: boolean) => {
      if (allSent && queued === 0 && answered === result.sent) finish();
    };

    if (plan.mode === 'closed') {
      // Each connection owns one stream, keeps `maxInFlight` posts pipelined on it, and posts
      // again as soon as one is answered (autocannon's -c/-p model).
      const streamOf = new Map<PublisherConnection, number>();
      const replaced = new Set<PublisherConnection>();
      const startLoop = (targetIndex: number, stream: number) => {
        const connection = freshConnection(targetIndex);
        streamOf.set(connection, stream);
        for (let k = 0; k < plan.maxInFlight; k++) sendOn(connection, stream);
      };
      afterAnswer = (connection, lost) => {
        if (stopped) return;
        const open = nowUs() < endUs;
        const stream = streamOf.get(connection) ?? 0;
        if (open && lost && connection.inFlight === 0 && !replaced.has(connection)) {
          replaced.add(connection);
          startLoop(plan.targets.indexOf(connection.target), stream);
        }
        else if (open) sendOn(connection, stream);
        maybeDone(!open);
      };
      let loops = 0;
      plan.targets.forEach((_, targetIndex) => {
        for (let k = 0; k < plan.connectionsPerTarget; k++) startLoop(targetIndex, loops++ % plan.paths.length);
      });
      setTimeout(finish, plan.durationMs + plan.drainMs);
      return;
    }

    // Paced mode.
    const total = Math.floor((plan.rate * plan.durationMs) / 1000);
    const intervalUs = 1e6 / plan.rate;
    let index = 0;
    const dispatch = (targetIndex: number, stream: number) => {
      const connection = pick(targetIndex);
      if (connection) sendOn(connection, stream);
      else {
        queues[targetIndex]!.push(stream);
        queued++;
        if (queued > result.maxQueued) result.maxQueued = queued;
      }
    };
    afterAnswer = (connection) => {
      const targetIndex = plan.targets.indexOf(connection.target);
      const queue = queues[targetIndex]!;
      while (queue.length) {
        const next = pick(targetIndex);
        if (!next) break;
        queued--;
        sendOn(next, queue.shift()!);
      }
      maybeDone(index >= total);
    };
    const tick = () => {
      const now = nowUs();
      const due = Math.min(total, Math.floor((now - startUs) / intervalUs) + 1);
      while (index < due) {
        const lagMs = (now - (startUs + index * intervalUs)) / 1000;
        if (lagMs > result.maxLagMs) result.maxLagMs = lagMs;
        dispatch(index % plan.targets.length, index % plan.paths.length);
        index++;
      }
      if (index < total) {
        const waitMs = (startUs + index * intervalUs - nowUs()) / 1000;
        setTimeout(tick, Math.max(0, waitMs));
      } else {
        maybeDone(true);
        setTimeout(finish, plan.drainMs);
      }
    };
    tick();
  });
}

serveParent({
  run,
  cpu: () => process.cpuUsage(),
});
