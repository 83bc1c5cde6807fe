// Batches socket writes: a connection that was sent frames is flushed once per event-loop turn,
// so frames that arrive together leave in one write, and a large fan-out is written in slices
// that yield to the event loop so posting and other streams are never blocked behind it.

export interface Flushable {
  flush(): void;
}

export class WriteScheduler {
  private dirty: Flushable[] = [];
  private scheduled = false;

  /** @param sliceSize connections flushed per turn before yielding to other work */
  constructor(private readonly sliceSize = 1000) {}

  /** Called by a connection the first time it queues something since its last flush. */
  mark(connection: Flushable): void {
    this.dirty.push(connection);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  /** Flushes everything now (shutdown, tests). */
  flushAll(): void {
    while (this.dirty.length > 0) this.flushSlice(this.dirty.length);
  }

  private readonly run = (): void => {
    this.flushSlice(this.sliceSize);
    if (this.dirty.length > 0) setImmediate(this.run);
    else this.scheduled = false;
  };

  private flushSlice(count: number): void {
    const slice = this.dirty.length <= count ? this.dirty : this.dirty.slice(0, count);
    this.dirty = this.dirty.length <= count ? [] : this.dirty.slice(count);
    for (const connection of slice) connection.flush();
  }
}
