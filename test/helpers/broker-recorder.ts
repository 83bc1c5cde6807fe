// A StreamListener for broker tests: records what a subscription delivers and lets a test await
// a count of messages (or a gap) with a timeout instead of sleeping.
import type { Message, StreamListener } from '../../server/broker/broker.js';

export interface RecordedGap {
  afterId: string;
  lost: number | 'unknown';
  trimmedThrough: string;
}

export class Recorder implements StreamListener {
  readonly messages: Message[] = [];
  readonly gaps: RecordedGap[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  onMessage(message: Message): void {
    this.messages.push(message);
    this.wake();
  }

  onGap(info: RecordedGap): void {
    this.gaps.push(info);
    this.wake();
  }

  get ids(): string[] {
    return this.messages.map((message) => message.id);
  }

  /** Resolves once `count` messages arrived; rejects after `timeoutMs` saying how many did. */
  waitForCount(count: number, timeoutMs = 5000): Promise<void> {
    return this.waitFor(() => this.messages.length >= count, timeoutMs, () => `${count} messages (got ${this.messages.length})`);
  }

  /** Resolves once a message with this id arrived. */
  waitForId(id: string, timeoutMs = 5000): Promise<void> {
    return this.waitFor(
      () => this.messages.some((message) => message.id === id),
      timeoutMs,
      () => `message ${id} (got ${this.messages.length}, last ${this.messages.at(-1)?.id ?? 'none'})`,
    );
  }

  waitForGap(timeoutMs = 5000): Promise<void> {
    return this.waitFor(() => this.gaps.length > 0, timeoutMs, () => 'a gap notice');
  }

  private waitFor(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((other) => other !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private wake(): void {
    const ready = this.waiters.filter((waiter) => waiter.check());
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  }
}
