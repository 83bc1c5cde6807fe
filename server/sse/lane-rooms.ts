// The Hub's rooms as the post lane sees them (native/lane-rooms.c): for each stream with live JSON
// viewers, their descriptors, and the stream's newest id. A post the lane reads for such a room is
// written to its clean viewers from C before JavaScript hears of it; then JavaScript stores it and
// writes it to everyone else (hub.ts); on a kept-alive connection with every answer written, C
// answers the 201 too. Each watched viewer has a watch id, and a byte in `clean`
// that its connection keeps up to date: 1 while nothing of its own is queued in Node (no frame
// waiting for the scheduler, nothing unsent in the socket) and it is not closing, so that a frame
// the lane writes can never overtake one of JavaScript's.
import type { EntryId } from '../broker/ids.js';
import type { LaneAnswerRestListener, LaneHandle, PostLaneCalls } from '../native/post-lane.js';

/**
 * Viewers a room may have for the lane to write its posts: one send(2) each, in the read of the
 * post. Busier streams go through the WriteScheduler, whose slices keep a big fan-out from holding
 * up the event loop and whose flushes put the messages that pile up for a viewer into one write.
 */
export const LANE_ROOM_MAX_VIEWERS = 64;

export class LaneRooms {
  /** A byte per watch id; replaced by a larger one as watch ids grow (read it where it is used). */
  clean = new Uint8Array(1024);
  /** Each lane post's (watch id, outcome) pairs, as fanOut() describes them. */
  readonly results = new Int32Array(2 * LANE_ROOM_MAX_VIEWERS);
  private readonly freeWatches: number[] = [];
  private nextWatch = 0;

  constructor(
    private readonly calls: PostLaneCalls,
    private readonly lane: LaneHandle,
    node: string,
    region: string,
    keepAliveTimeoutMs: number,
    // Held here: the lane refers to it weakly.
    private readonly onAnswerRest: LaneAnswerRestListener,
  ) {
    const options = { nodeJson: JSON.stringify(node), regionJson: JSON.stringify(region), maxViewers: LANE_ROOM_MAX_VIEWERS, keepAliveSeconds: Math.floor(keepAliveTimeoutMs / 1000) };
    calls.fanOut(lane, options, this.clean, this.results, onAnswerRest);
  }

  /** A room for the stream: its index, or -1. The lane writes nothing for it until advance(). */
  open(stream: string): number {
    return this.calls.openRoom(this.lane, stream);
  }

  close(room: number): void {
    this.calls.closeRoom(this.lane, room);
  }

  /** The stream gave this id through JavaScript. */
  advance(room: number, id: EntryId): void {
    this.calls.advance(this.lane, room, id.ms, id.seq);
  }

  /** A viewer on this descriptor: its watch id (its clean flag 0 for now), or -1. */
  watch(room: number, fd: number): number {
    const watch = this.freeWatches.pop() ?? this.nextWatch++;
    if (watch >= this.clean.length) {
      const grown = new Uint8Array(this.clean.length * 2);
      grown.set(this.clean);
      this.calls.useClean(this.lane, grown);
      this.clean = grown;
    }
    this.clean[watch] = 0;
    if (this.calls.watch(this.lane, room, watch, fd)) return watch;
    this.freeWatches.push(watch);
    return -1;
  }

  unwatch(watch: number): void {
    this.clean[watch] = 0;
    this.calls.unwatch(this.lane, watch);
    this.freeWatches.push(watch);
  }
}
