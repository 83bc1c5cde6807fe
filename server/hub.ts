// The Hub is this node's fan-out: stream -> local viewers. It holds one broker subscription per
// stream however many viewers it has, encodes each message once per format and hands the same
// bytes to every viewer, and joins a viewer without gap or duplicate (subscribe, buffer, history).
import type { Logger } from 'pino';
import type { Broker, Gap, Message, Subscription } from './broker/broker.js';
import { compareIdText, isPast, parseId } from './broker/ids.js';
import { messageJson } from './broker/message-json.js';
import type { CloseListener, CloseReason, SseConnection } from './sse/connection.js';
import type { WriteScheduler } from './sse/write-scheduler.js';
import { SlicedSweep } from './sse/sliced-sweep.js';
import { encodeEvent, encodeJsonEvent, encodeReset, HEARTBEAT_FRAME } from './sse/frame.js';
import type { StreamFormat } from './validation.js';
import { renderMessage } from './views/message.js';

export type { StreamFormat } from './validation.js';

export function encodeMessage(message: Message, format: StreamFormat): Buffer {
  if (format === 'json') return encodeJsonEvent(message.id, messageJson(message));
  return encodeEvent({ id: message.id, data: renderMessage(message).value });
}

/** A gap the broker reported while a viewer's history was being read: judged once it is read. */
interface PendingGap {
  gap: Gap;
}

/** One viewer of a room; a class, so that its close handling is a method and not a closure each. */
class Viewer implements CloseListener {
  /** Live messages (and gaps) that arrived while this viewer's history was being read; null once live. */
  pending: (Message | PendingGap)[] | null = [];
  /** About what `pending` would take on the wire: it counts toward the slow-viewer bound. */
  pendingBytes = 0;
  /**
   * The last id a resuming viewer was sent from history, while the broker's live delivery has
   * not yet passed it: live delivery may lag behind the log (Redis pub/sub behind XRANGE), so a
   * message can reach the Hub after the history read already gave it to this viewer.
   */
  sentThrough: string | null = null;
  /** Its watch id in the lane's rooms (LaneRooms), or -1 while the lane does not write to it. */
  watch = -1;
  /** Equal to the Hub's laneMark while the message being published is one the lane wrote to it. */
  laneMark = 0;

  constructor(
    private readonly hub: Hub,
    readonly room: Room,
    readonly connection: SseConnection,
    readonly format: StreamFormat,
  ) {}

  connectionClosed(reason: CloseReason): void {
    this.hub.viewerClosed(this, reason);
  }
}

interface Room {
  stream: string;
  viewers: Set<Viewer>;
  /** Resolves once the broker delivers this stream's messages to the room. */
  subscription: Promise<Subscription>;
  lingerTimer: NodeJS.Timeout | null;
  /** The room's index in the lane's rooms, or -1; and how many of its viewers are watched there. */
  lane: number;
  laneViewers: number;
}

export interface HubOptions {
  heartbeatMs: number;
  unsubscribeLingerMs: number;
  /** Replay waits for the socket to drain above this many unsent bytes (half the slow bound). */
  replayBacklogBytes: number;
}

/** Running totals since the node started, read by /metrics. */
export interface HubStats {
  /** Messages the broker delivered to this node (one per message, whatever the viewers). */
  messages: number;
  /** Frames queued to viewers: messages times the viewers that got them. */
  deliveries: number;
  /** Viewers cut off because their unsent bytes passed SLOW_CLIENT_BYTES. */
  slowViewersCut: number;
  /** Times viewers were told (event: reset) that messages were lost to them. */
  resets: number;
}

/** Heartbeat ticks per HEARTBEAT_MS (see the Hub's constructor). */
const HEARTBEAT_TICKS = 4;
/**
 * What one turn of the heartbeat's sweep may do before yielding: a look at a viewer costs 1, a
 * heartbeat queued (a write) 16. Slices of looks took 0.1-0.2 ms in bench rooms; 64 writes are
 * about 0.5 ms there.
 */
const HEARTBEAT_SLICE_BUDGET = 1024;
const HEARTBEAT_WRITE_COST = 16;
/** Messages read from the broker per step of a replay. */
const REPLAY_PAGE = 1000;

export class Hub {
  readonly stats: HubStats = { messages: 0, deliveries: 0, slowViewersCut: 0, resets: 0 };
  private readonly rooms = new Map<string, Room>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly heartbeatSweep = new SlicedSweep<Room, Viewer>(
    (room) => room.viewers,
    (viewer) => this.heartbeatIfIdle(viewer),
    HEARTBEAT_SLICE_BUDGET,
  );
  private closed = false;
  /** The viewers the lane writes to, by watch id. */
  private readonly watchers: (Viewer | undefined)[] = [];
  /** Set while a post the lane wrote to some of its room's viewers is published (beginLaneSent). */
  private laneMark = 0;
  private laneSending = false;

  constructor(
    private readonly broker: Broker,
    /** Writes this node's frames; its epoch is the heartbeat's clock. */
    private readonly scheduler: WriteScheduler,
    private readonly options: HubOptions,
    private readonly logger: Logger,
  ) {
    // One timer for every connection rather than one each, ticking four times per interval: a
    // viewer gets a heartbeat once nothing was written to it for 3-4 ticks (3/4 to one whole
    // interval, never longer), so busy streams get none and idle viewers' beats spread over the
    // ticks instead of one burst. Each tick's look at every viewer runs in slices (SlicedSweep).
    this.heartbeat = setInterval(() => this.sendHeartbeats(), Math.max(1, Math.floor(options.heartbeatMs / HEARTBEAT_TICKS)));
    this.heartbeat.unref();
  }

  /**
   * Adds a viewer to a stream: delivers the messages after `lastEventId` (none when null), then
   * live ones, with no gap and no duplicate. Rejects (and leaves nothing behind) when the broker
   * cannot subscribe; the connection is the caller's to end then.
   */
  async join(stream: string, connection: SseConnection, format: StreamFormat, lastEventId: string | null): Promise<void> {
    if (this.closed) throw new Error('hub is closed');
    const room = this.room(stream);
    const viewer = new Viewer(this, room, connection, format);
    room.viewers.add(viewer);
    connection.onClose(viewer);
    try {
      await room.subscription;
      connection.open();
      if (lastEventId !== null) await this.replay(stream, viewer, lastEventId);
    } catch (error) {
      this.leave(room, viewer);
      throw error;
    }
    const buffered = viewer.pending ?? [];
    viewer.pending = null;
    for (const item of buffered) {
      if ('gap' in item) this.tellOfGap(viewer, item.gap);
      else if (this.isNew(viewer, item)) connection.send(encodeMessage(item, format));
    }
    // Live, with nothing from history still to be passed: the lane may write its posts to it.
    if (viewer.sentThrough === null) this.laneWatch(viewer);
  }

  /**
   * A post the lane wrote to `sent` of its room's viewers (their watch ids and outcomes in the lane
   * rooms' results) is about to be published: deliver() leaves them out.
   */
  beginLaneSent(sent: number): void {
    const mark = ++this.laneMark;
    const { results } = this.scheduler.laneRooms!;
    for (let i = 0; i < sent; i++) {
      const viewer = this.watchers[results[2 * i]!];
      if (viewer) viewer.laneMark = mark;
    }
    this.laneSending = true;
  }

  /**
   * After the publish: each of those viewers' frame is written, or what the kernel did not take
   * goes to Node's write, or the socket's error closes it. `message` null: the publish failed, and
   * each of them is closed (it resumes by id from the history, which lacks what it got).
   */
  endLaneSent(message: Message | null, sent: number): void {
    this.laneSending = false;
    const { results } = this.scheduler.laneRooms!;
    let frame: Buffer | null = null;
    for (let i = 0; i < sent; i++) {
      const viewer = this.watchers[results[2 * i]!];
      const outcome = results[2 * i + 1]!;
      if (!viewer) continue;
      if (!message) {
        // What it got is in no history: it resumes by id from what is.
        viewer.connection.cutOff('error');
        continue;
      }
      if (outcome > 0) frame ??= encodeMessage(message, 'json');
      viewer.connection.laneWrote(outcome, frame);
    }
  }

  /** @internal a viewer's connection closed (see Viewer). */
  viewerClosed(viewer: Viewer, reason: CloseReason): void {
    if (reason === 'slow') this.stats.slowViewersCut += 1;
    this.leave(viewer.room, viewer);
  }

  /** Streams with viewers on this node, busiest first. */
  activeStreams(): { stream: string; viewers: number }[] {
    return [...this.rooms.values()]
      .filter((room) => room.viewers.size > 0)
      .map((room) => ({ stream: room.stream, viewers: room.viewers.size }))
      .sort((a, b) => b.viewers - a.viewers || a.stream.localeCompare(b.stream));
  }

  get viewerCount(): number {
    let count = 0;
    for (const room of this.rooms.values()) count += room.viewers.size;
    return count;
  }

  /** Streams this node holds a broker subscription for (lingering ones included). */
  get subscribedCount(): number {
    return this.rooms.size;
  }

  /** Is the broker subscribed to this stream on behalf of this node? */
  isSubscribed(stream: string): boolean {
    return this.rooms.has(stream);
  }

  /** Ends every stream cleanly (clients reconnect elsewhere) and drops every subscription. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.heartbeatSweep.stop();
    const rooms = [...this.rooms.values()];
    for (const room of rooms) for (const viewer of [...room.viewers]) viewer.connection.end();
    await Promise.allSettled(rooms.map((room) => this.unsubscribe(room)));
  }

  /** Sends history after `lastEventId`, and marks how far it went so live messages it covered are skipped. */
  private async replay(stream: string, viewer: Viewer, lastEventId: string): Promise<void> {
    // Everything retained after the id, page by page until the log is caught up: no count of our
    // own, since a broker may keep more than HISTORY_SIZE (Redis trims in steps), and a cap here
    // would drop the newest messages with no reset to say so.
    let after = lastEventId;
    let ahead = false;
    while (viewer.connection.isOpen) {
      const page = await this.broker.history(stream, after, REPLAY_PAGE);
      // From the first page: read with it in one step, so no message published between two
      // reads can make the id look reached. The room is subscribed already, so whatever is
      // published after this read arrives live.
      if (after === lastEventId) ahead = isPast(lastEventId, page.position, Date.now());
      // On a later page too: a long replay paced by a slow socket can see the log trimmed past
      // where it had read.
      if (page.gap) {
        viewer.connection.send(encodeReset(page.lost));
        this.stats.resets += 1;
      }
      for (const message of page.messages) {
        // A long replay is paced by the socket, so it never trips the slow-viewer bound itself.
        if (viewer.connection.backlogBytes > this.options.replayBacklogBytes) await viewer.connection.drain();
        viewer.connection.send(encodeMessage(message, viewer.format));
      }
      // Paged on the entries read, not on the messages: entries it could not decode (written
      // behind the broker's back) made a page look short, or empty, and ended the replay there.
      if (page.readThrough === null) break;
      after = page.readThrough;
      if (!page.more) break;
    }
    // Nothing read past the viewer's id: `after` is still its own.
    if (ahead && after === lastEventId) {
      // An id this stream never reached (another deployment's, a clock that stepped back): as a
      // mark it would hold back every live message until one passed it. The viewer is told its
      // history may not match, then gets live messages.
      viewer.connection.send(encodeReset('unknown'));
      this.stats.resets += 1;
      return;
    }
    // Live messages buffered meanwhile, or still to come, may already be in the history just sent.
    viewer.sentThrough = after;
  }

  private room(stream: string): Room {
    const existing = this.rooms.get(stream);
    if (existing) {
      if (existing.lingerTimer) clearTimeout(existing.lingerTimer);
      existing.lingerTimer = null;
      return existing;
    }
    const room: Room = { stream, viewers: new Set(), subscription: null!, lingerTimer: null, lane: -1, laneViewers: 0 };
    room.subscription = this.broker.subscribe(stream, {
      onMessage: (message) => this.deliver(room, message),
      onGap: (gap) => {
        for (const viewer of room.viewers) {
          // A viewer reading its history hears of it where its live messages begin, once it is
          // known how far that history went.
          if (viewer.pending) viewer.pending.push({ gap });
          else this.tellOfGap(viewer, gap);
        }
      },
    });
    // A failed subscribe must not leave a room that later viewers would wait on forever.
    room.subscription.catch((error: unknown) => {
      if (this.rooms.get(stream) === room) this.rooms.delete(stream);
      this.logger.warn({ stream, err: error }, 'subscribe failed');
    });
    this.rooms.set(stream, room);
    return room;
  }

  private deliver(room: Room, message: Message): void {
    // Encoded at most once per format, whatever the number of viewers.
    let json: Buffer | null = null;
    let html: Buffer | null = null;
    this.stats.messages += 1;
    this.stats.deliveries += room.viewers.size;
    const laneSent = this.laneSending;
    // An id given here (not by the lane, which knows its own): the lane's next is past it.
    if (room.lane >= 0 && !laneSent) this.scheduler.laneRooms!.advance(room.lane, parseId(message.id)!);
    for (const viewer of room.viewers) {
      if (laneSent && viewer.laneMark === this.laneMark) continue;
      if (viewer.pending) {
        viewer.pending.push(message);
        // A viewer that stops reading during its replay is cut as any slow viewer is, rather
        // than holding every live message meanwhile; it resumes by id.
        viewer.pendingBytes += messageJson(message).length;
        if (viewer.connection.wouldPassSlowBound(viewer.pendingBytes)) viewer.connection.cutOff();
        continue;
      }
      if (!this.isNew(viewer, message)) continue;
      if (viewer.format === 'json') {
        viewer.connection.send((json ??= encodeMessage(message, 'json')));
      } else {
        viewer.connection.send((html ??= encodeMessage(message, 'html')));
      }
    }
  }

  /**
   * Sends `event: reset` to a viewer that missed the gap's messages. One whose history went up to
   * the newest trimmed id or past it (a resume during the broker's outage) missed none of them.
   */
  private tellOfGap(viewer: Viewer, gap: Gap): void {
    if (viewer.sentThrough !== null && compareIdText(viewer.sentThrough, gap.trimmedThrough) >= 0) return;
    viewer.connection.send(encodeReset(gap.lost));
    this.stats.resets += 1;
  }

  /**
   * False for a message a resuming viewer already got from history. The broker delivers in id
   * order, so once one message passes the mark every later one does.
   */
  private isNew(viewer: Viewer, message: Message): boolean {
    if (viewer.sentThrough === null) return true;
    if (compareIdText(message.id, viewer.sentThrough) <= 0) return false;
    viewer.sentThrough = null;
    this.laneWatch(viewer);
    return true;
  }

  /** The lane writes the room's posts to this viewer from now on, where it can. */
  private laneWatch(viewer: Viewer): void {
    const laneRooms = this.scheduler.laneRooms;
    const { room, connection } = viewer;
    if (!laneRooms || viewer.format !== 'json' || viewer.watch >= 0 || connection.descriptor < 0 || !connection.isOpen || this.rooms.get(room.stream) !== room) return;
    if (room.lane < 0) room.lane = laneRooms.open(room.stream);
    if (room.lane < 0) return;
    viewer.watch = laneRooms.watch(room.lane, connection.descriptor);
    if (viewer.watch < 0) return;
    this.watchers[viewer.watch] = viewer;
    room.laneViewers++;
    connection.laneWatched(viewer.watch);
  }

  private laneUnwatch(viewer: Viewer): void {
    const laneRooms = this.scheduler.laneRooms;
    if (!laneRooms || viewer.watch < 0) return;
    const { room } = viewer;
    laneRooms.unwatch(viewer.watch);
    this.watchers[viewer.watch] = undefined;
    viewer.watch = -1;
    viewer.connection.laneUnwatched();
    if (--room.laneViewers === 0) this.closeLaneRoom(room);
  }

  private closeLaneRoom(room: Room): void {
    if (room.lane < 0) return;
    this.scheduler.laneRooms!.close(room.lane);
    room.lane = -1;
  }

  private leave(room: Room, viewer: Viewer): void {
    this.laneUnwatch(viewer);
    if (!room.viewers.delete(viewer) || room.viewers.size > 0 || this.closed) return;
    // Linger so that a page reload does not unsubscribe and resubscribe at once.
    const unsubscribeNow = () => {
      room.lingerTimer = null;
      if (room.viewers.size === 0 && this.rooms.get(room.stream) === room) void this.unsubscribe(room);
    };
    if (this.options.unsubscribeLingerMs === 0) unsubscribeNow();
    else room.lingerTimer = setTimeout(unsubscribeNow, this.options.unsubscribeLingerMs);
  }

  private async unsubscribe(room: Room): Promise<void> {
    if (room.lingerTimer) clearTimeout(room.lingerTimer);
    this.closeLaneRoom(room);
    if (this.rooms.get(room.stream) === room) this.rooms.delete(room.stream);
    try {
      const subscription = await room.subscription;
      await subscription.unsubscribe();
    } catch (error) {
      this.logger.debug({ stream: room.stream, err: error }, 'unsubscribe failed');
    }
  }

  private sendHeartbeats(): void {
    ++this.scheduler.epoch;
    this.heartbeatSweep.start(this.rooms.values());
  }

  private heartbeatIfIdle(viewer: Viewer): number {
    if (viewer.connection.lastWriteEpoch > this.scheduler.epoch - HEARTBEAT_TICKS) return 1;
    viewer.connection.send(HEARTBEAT_FRAME);
    return HEARTBEAT_WRITE_COST;
  }
}
