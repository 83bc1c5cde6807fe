// The posts' rate limit: one fixed-window count per client key, shared by the Express route (as
// express-rate-limit's store) and the raw POST fast path (synchronously), so a client gets the
// same limit whichever path serves each of its posts. Renders the same draft-8 headers as
// express-rate-limit, so both paths answer alike.
import { createHash } from 'node:crypto';
import { ipKeyGenerator, type ClientRateLimitInfo, type Store } from 'express-rate-limit';

interface Window {
  hits: number;
  resetAt: number;
}

export interface RateLimitHit {
  limited: boolean;
  /** `RateLimit` and `RateLimit-Policy` header lines, each ending in CRLF. */
  headerLines: string;
}

export class PostRateLimit implements Store {
  /** Counts live in this process only (express-rate-limit checks this for its warnings). */
  readonly localKeys = true;
  /** The policy name in the headers, as express-rate-limit's default identifier spells it. */
  readonly identifier: string;
  private windows = new Map<string, Window>();
  private readonly sweep: NodeJS.Timeout;
  private readonly partitionKeys = new Map<string, string>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {
    this.identifier = `${limit}-in-${durationName(windowMs)}`;
    // Expired windows are dropped in bulk, so a client seen once costs nothing after a while.
    this.sweep = setInterval(() => this.dropExpired(), windowMs);
    this.sweep.unref();
  }

  /** The key express-rate-limit's default key generator gives this address (IPv6 by /56). */
  static keyFor(address: string): string {
    return ipKeyGenerator(address, 56);
  }

  /** Counts one post; what the fast path calls. */
  hit(key: string, now = Date.now()): RateLimitHit {
    const window = this.count(key, now);
    const remaining = Math.max(this.limit - window.hits, 0);
    const resetSeconds = Math.max(0, Math.ceil((window.resetAt - now) / 1000));
    const name = this.identifier;
    return {
      limited: window.hits > this.limit,
      headerLines:
        `RateLimit: "${name}"; r=${remaining}; t=${resetSeconds}\r\n` +
        `RateLimit-Policy: "${name}"; q=${this.limit}; w=${Math.ceil(this.windowMs / 1000)}; pk=:${this.partitionKey(key)}:\r\n`,
    };
  }

  // express-rate-limit's Store interface.
  async increment(key: string): Promise<ClientRateLimitInfo> {
    const window = this.count(key, Date.now());
    return { totalHits: window.hits, resetTime: new Date(window.resetAt) };
  }

  async decrement(key: string): Promise<void> {
    const window = this.windows.get(key);
    if (window && window.hits > 0) window.hits--;
  }

  async resetKey(key: string): Promise<void> {
    this.windows.delete(key);
  }

  close(): void {
    clearInterval(this.sweep);
  }

  private count(key: string, now: number): Window {
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { hits: 0, resetAt: now + this.windowMs };
      this.windows.set(key, window);
    }
    window.hits++;
    return window;
  }

  private dropExpired(): void {
    const now = Date.now();
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
    this.partitionKeys.clear();
  }

  /** express-rate-limit's `pk`: base64 of the first 12 hex digits of the key's SHA-256. */
  private partitionKey(key: string): string {
    let partitionKey = this.partitionKeys.get(key);
    if (partitionKey === undefined) {
      partitionKey = Buffer.from(createHash('sha256').update(key).digest('hex').slice(0, 12)).toString('base64');
      this.partitionKeys.set(key, partitionKey);
    }
    return partitionKey;
  }
}

function durationName(windowMs: number): string {
  const seconds = windowMs / 1000;
  const minutes = seconds / 60;
  const hours = minutes / 60;
  const days = hours / 24;
  if (seconds < 60) return `${seconds}sec`;
  if (minutes < 60) return `${minutes}min`;
  if (hours < 24) return `${hours}hr${hours > 1 ? 's' : ''}`;
  return `${days}day${days > 1 ? 's' : ''}`;
}
