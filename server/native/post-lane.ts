// The post lane's calls (post-lane.c), built by npm's install step where the machine can. The
// connection router (http/post-lane.ts) decides which connections it reads.
import { loadAddon } from './addon.js';

/** What the lane checks a post against: the route's body limit and message limits. */
export interface PostLaneLimits {
  bodyBytes: number;
  authorChars: number;
  textChars: number;
}

/** A post the lane read: the stream, and the author and text as the route's checks leave them.
 * False declines it: the lane hands it back, unread, with what follows. */
export type LanePostListener = (slot: number, stream: string, author: string, text: string, keepAlive: boolean) => boolean;
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
}

/** post-lane.c's calls, or why there are none here. */
export function loadPostLane(): { calls: PostLaneCalls } | { reason: string } {
  return loadAddon<PostLaneCalls>('post_lane');
}
