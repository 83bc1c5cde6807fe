// Visits every item of every group (every viewer of every room) in slices that yield to the event
// loop, the way the WriteScheduler writes a large fan-out: the heartbeat's check of thousands of
// viewers in one go held posts behind it for 0.5-6 ms (bench rooms, 5,000 viewers, a node trace of
// the waits before each post's handler), the longest while the check still ran unoptimised.

/** A visit's cost toward a slice's budget: 1 for a look, more when it queued a write. */
export type VisitCost = number;

export class SlicedSweep<Group, Item> {
  private groups: Iterator<Group> | null = null;
  private items: Iterator<Item> | null = null;
  private scheduled = false;

  /**
   * @param itemsOf a group's items; a live Set's iterator sees items added during the sweep and
   *   skips those removed, so nothing is visited after it left
   * @param visit looks at one item and says what that cost
   * @param budget what one slice may cost before the sweep yields
   * @param defer runs the next slice after other work (setImmediate)
   */
  constructor(
    private readonly itemsOf: (group: Group) => Iterable<Item>,
    private readonly visit: (item: Item) => VisitCost,
    private readonly budget: number,
    private readonly defer: (next: () => void) => void = setImmediate,
  ) {}

  /** Whether a sweep is under way (started and not yet through every group). */
  get running(): boolean {
    return this.groups !== null;
  }

  /**
   * Starts a sweep and runs its first slice now. While one is under way this does nothing: that
   * sweep goes on and reaches what changed meanwhile.
   */
  start(groups: Iterator<Group>): void {
    if (this.groups) return;
    this.groups = groups;
    this.items = null;
    this.slice();
  }

  /** Ends the sweep under way; a slice already deferred finds nothing to do. */
  stop(): void {
    this.groups = null;
    this.items = null;
  }

  private readonly next = (): void => {
    this.scheduled = false;
    this.slice();
  };

  private slice(): void {
    let spent = 0;
    while (this.groups) {
      if (!this.items) {
        const group = this.groups.next();
        if (group.done) {
          this.stop();
          return;
        }
        this.items = this.itemsOf(group.value)[Symbol.iterator]();
      }
      for (let item = this.items.next(); !item.done; item = this.items.next()) {
        spent += this.visit(item.value);
        if (spent >= this.budget) {
          this.scheduleNext();
          return;
        }
      }
      this.items = null;
    }
  }

  private scheduleNext(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(this.next);
  }
}
