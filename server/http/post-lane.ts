// Which kept-alive post connections the native post lane reads (native/post-lane.c), and the way
// back to Node's reads. A connection is adopted between requests, with nothing read and nothing
// owed, and handed back at the first bytes the lane does not take plainly; both directions stop
// or restart the reads of the socket's libuv handle, as Node's net does itself for backpressure.
// While the lane reads, the handle's `reading` flag stays true: the readable stream asks for more
// after each chunk it delivers (its read-ahead), and net.Socket's _read restarts the handle's
// reads whenever the flag says they are stopped; Node and the lane would then race for each post.
import type { Socket } from 'node:net';
import type { LaneHandBackListener, LaneHandle, LanePostListener, PostLaneCalls, PostLaneLimits } from '../native/post-lane.js';
import { LaneRooms } from '../sse/lane-rooms.js';

/** The connection a slot's posts and hand-back go to. */
export interface LaneOwner {
  /** False when the post is not to be answered here after all: the lane hands it back. With an
   * id, the lane wrote the post to `sent` viewers already, and maybe its answer (LanePostListener). */
  lanePost(stream: string, author: string, text: string, keepAlive: boolean, idMs?: number, idSeq?: number, sent?: number, answered?: boolean): boolean;
  /** What the kernel did not take of the lane's answers: written now, before anything else. */
  laneAnswerRest(rest: Buffer): void;
  /** Node reads the socket again; `rest` was read and not taken, the start of the next request. */
  laneHandBack(rest: Buffer | undefined): void;
}

/** The part of a TCP socket's libuv handle that net.Socket itself uses to stop and restart reads. */
interface ReadingHandle {
  fd?: number;
  reading?: boolean;
  readStart?(): number;
  readStop?(): number;
}

function handleOf(socket: Socket): ReadingHandle | null {
  return (socket as unknown as { _handle: ReadingHandle | null })._handle;
}

/** Node reads the socket again, after the lane (as net.Socket's own tryReadStart). */
export function resumeNodeReads(socket: Socket): void {
  const handle = handleOf(socket);
  if (!handle || socket.destroyed || typeof handle.readStart !== 'function') return;
  handle.reading = true;
  const failed = handle.readStart();
  if (failed) socket.destroy(Object.assign(new Error('read failed'), { errno: failed, syscall: 'read' }));
}

/** Running totals since the node started, read by /metrics. */
export interface PostLaneStats {
  /** Posts the lane read (each then published and answered as on the JavaScript path). */
  posts: number;
  /** Of those, the posts whose frames the lane wrote to viewers itself (fanOut). */
  fannedOut: number;
}

export class PostLane {
  readonly stats: PostLaneStats = { posts: 0, fannedOut: 0 };
  private readonly owners: (LaneOwner | undefined)[] = [];
  private readonly lane: LaneHandle;
  // Held here: the lane refers to them weakly, so that a node's lane goes with the node.
  private readonly listeners: [LanePostListener, LaneHandBackListener];

  constructor(private readonly calls: PostLaneCalls, limits: PostLaneLimits) {
    const onPost: LanePostListener = (slot, stream, author, text, keepAlive, idMs, idSeq, sent, answered) => {
      const owner = this.owners[slot];
      if (idMs !== undefined) this.stats.fannedOut++;
      // Always there while the lane reads its connection (release() and hand-backs stop the reads first).
      if (!owner) return true;
      const taken = owner.lanePost(stream, author, text, keepAlive, idMs, idSeq, sent, answered);
      if (taken) this.stats.posts++;
      return taken;
    };
    const onHandBack: LaneHandBackListener = (slot, rest) => {
      const owner = this.owners[slot];
      this.owners[slot] = undefined;
      owner?.laneHandBack(rest);
    };
    this.listeners = [onPost, onHandBack];
    this.lane = calls.create(limits, ...this.listeners);
  }

  /**
   * The lane reads the socket from now on: its slot, or -1 where it cannot (Node then goes on
   * reading it). Only between requests: nothing read and not yet served.
   */
  adopt(owner: LaneOwner, socket: Socket): number {
    const handle = handleOf(socket);
    const fd = handle?.fd;
    // Not a plain TCP or Unix socket (TLS carries the encrypted stream on its descriptor).
    if (typeof fd !== 'number' || fd < 0 || (socket as { encrypted?: boolean }).encrypted || socket.destroyed || !handle || handle.reading !== true || typeof handle.readStop !== 'function') return -1;
    // Stopped with `reading` left true (see above).
    if (handle.readStop() !== 0) return -1;
    const slot = this.calls.adopt(this.lane, fd);
    if (slot < 0) {
      resumeNodeReads(socket);
      return -1;
    }
    this.owners[slot] = owner;
    return slot;
  }

  /** The lane stops reading the slot's connection, handing nothing back: the caller decides
   * whether Node reads it again (a closing connection is read and dropped, a gone one is not). */
  release(slot: number): void {
    this.owners[slot] = undefined;
    this.calls.release(this.lane, slot);
  }

  /**
   * From now on the lane writes posts to the viewers of the rooms the Hub mirrors in what this
   * returns, itself. Only for a node where no post the lane reads is declined (no rate limit).
   */
  fanOut(node: string, region: string, keepAliveTimeoutMs: number): LaneRooms {
    return new LaneRooms(this.calls, this.lane, node, region, keepAliveTimeoutMs, (slot, rest) => this.owners[slot]?.laneAnswerRest(rest));
  }

  /** Whether Node holds unsent bytes of the slot's answers (the lane answers none meanwhile). */
  setPosterBusy(slot: number, busy: boolean): void {
    this.calls.setPosterBusy(this.lane, slot, busy);
  }

  /** Every connection back to Node (the node begins to stop: posts then get its 503). */
  handBackAll(): void {
    this.calls.handBackAll(this.lane);
  }
}
