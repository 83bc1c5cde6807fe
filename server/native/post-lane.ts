// The post lane's calls (post-lane.c), built by npm's install step where the machine can. The
// connection router (http/post-lane.ts) decides which connections it reads.
import { loadAddon } from './addon.js';

/** What the lane checks a post against: the route's body limit and message limits. */
export interface PostLaneLimits {
  bodyBytes: number;
  authorChars: number;
  textChars: number;
}

/**
 * A post the lane read: the stream, and the author and text as the route's checks leave them.
 * False declines it: the lane hands it back, unread, with what follows. Where the lane wrote the
 * post's frame to the viewers of its stream's room itself (fanOut), it says so with the id it gave
 * (`idMs`-`idSeq`) and how many viewers it wrote to (`sent`; their outcomes are in the results
 * array); such a post is never declined. `answered`: the lane answers its 201 too (with the other
 * answers of the read, at its end or before the first post JavaScript answers).
 */
export type LanePostListener = (
  slot: number,
  stream: string,
  author: string,
  text: string,
  keepAlive: boolean,
  idMs?: number,
  idSeq?: number,
  sent?: number,
  answered?: boolean,
) => boolean;
/** What the kernel did not take of the lane's answers on the slot's connection: Node writes it now. */
export type LaneAnswerRestListener = (slot: number, rest: Buffer) => void;
/** The connection is Node's to read again, from the bytes given (none: its end, or an error). */
export type LaneHandBackListener = (slot: number, rest: Buffer | undefined) => void;

/** One node's lane, as create() makes it. */
export type LaneHandle = { readonly __brand: 'PostLane' };

/** What post-lane.c exports. */
export interface PostLaneCalls {
  create(limits: PostLaneLimits, onPost: LanePostListener, onHandBack: LaneHandBackListener): LaneHandle;
  /** Reads the socket of this descriptor from now on: its slot, or -errno. */
  adopt(lane: LaneHandle, fd: number): number;
  /** Stops reading a slot's connection; hands nothing back. */
  release(lane: LaneHandle, slot: number): void;
  /** Every connection back to Node, now. */
  handBackAll(lane: LaneHandle): void;
  /** The lane's reading of a request at the start of the bytes: [stream, author, text, keepAlive, length], or null. */
  parse(bytes: Buffer, limits: PostLaneLimits): [string, string, string, boolean, number] | null;
  /**
   * From now on the lane writes the frames of posts to rooms of at most `maxViewers` viewers
   * itself. `clean` has a byte per watch id (1: that viewer may be written now); `results` gets
   * each post's (watch id, outcome) pairs: the bytes the kernel did not take (0: all), or -errno.
   */
  fanOut(lane: LaneHandle, options: LaneFanOutOptions, clean: Uint8Array, results: Int32Array, onAnswerRest: LaneAnswerRestListener): void;
  /** The clean flags from now on (grown). */
  useClean(lane: LaneHandle, clean: Uint8Array): void;
  /** A room for the stream: its index, or -1. Its newest id is unknown until advance(). */
  openRoom(lane: LaneHandle, stream: string): number;
  closeRoom(lane: LaneHandle, room: number): void;
  /** The room's stream gave the id `ms`-`seq`. */
  advance(lane: LaneHandle, room: number, ms: number, seq: number): void;
  /** A viewer of the room, on this descriptor, under the caller's watch id: false where it cannot. */
  watch(lane: LaneHandle, room: number, watch: number, fd: number): boolean;
  unwatch(lane: LaneHandle, watch: number): void;
  /** Whether Node holds unsent bytes of the slot's answers: the lane answers none of its posts meanwhile. */
  setPosterBusy(lane: LaneHandle, slot: number, busy: boolean): void;
  /** The frame the lane writes for such a message and the 201 it answers with (for the tests). */
  frame(stream: string, author: string, text: string, ms: number, seq: number, nodeJson: string, regionJson: string, keepAliveSeconds: number): [Buffer, Buffer];
}

export interface LaneFanOutOptions {
  /** JSON.stringify of the node's id and region, as every message of the node carries them. */
  nodeJson: string;
  regionJson: string;
  maxViewers: number;
  /** The HTTP server's keep-alive timeout, in the seconds its answers advertise. */
  keepAliveSeconds: number;
}

/** post-lane.c's calls, or why there are none here. */
export function loadPostLane(): { calls: PostLaneCalls } | { reason: string } {
  return loadAddon<PostLaneCalls>('post_lane');
}
