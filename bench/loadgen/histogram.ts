// A latency histogram in microseconds with about 1% relative precision (HDR-style buckets), so
// millions of samples cost a few KB and histograms from several worker processes merge by addition.

const EXACT = 256; // values below this get a bucket each
const SUB_BUCKETS = 128; // per power of two above it: 1/128 relative precision
const MAX_VALUE = 2 ** 31 - 1; // about 36 minutes
const BUCKETS = EXACT + (31 - 8) * SUB_BUCKETS;

function bucketOf(valueUs: number): number {
  const v = valueUs < 0 ? 0 : valueUs > MAX_VALUE ? MAX_VALUE : Math.floor(valueUs);
  if (v < EXACT) return v;
  const exponent = 31 - Math.clz32(v); // >= 8
  return EXACT + (exponent - 8) * SUB_BUCKETS + ((v >>> (exponent - 7)) - SUB_BUCKETS);
}

/** The smallest value that falls into bucket `index`. */
function lowerBoundOf(index: number): number {
  if (index < EXACT) return index;
  const exponent = 8 + Math.floor((index - EXACT) / SUB_BUCKETS);
  const sub = ((index - EXACT) % SUB_BUCKETS) + SUB_BUCKETS;
  return sub * 2 ** (exponent - 7);
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class LatencyHistogram {
  readonly counts: Float64Array;
  count = 0;
  maxUs = 0;

  constructor(counts?: Float64Array) {
    this.counts = counts ?? new Float64Array(BUCKETS);
    if (counts) for (const c of counts) this.count += c;
  }

  record(valueUs: number): void {
    const index = bucketOf(valueUs);
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.count++;
    if (valueUs > this.maxUs) this.maxUs = valueUs;
  }

  merge(other: { counts: Float64Array; maxUs: number }): void {
    for (let i = 0; i < BUCKETS; i++) {
      const c = other.counts[i] ?? 0;
      if (c) {
        this.counts[i] = (this.counts[i] ?? 0) + c;
        this.count += c;
      }
    }
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.maxUs = 0;
  }

  /** The value at quantile `q` (0..1): the midpoint of its bucket, in microseconds. */
  quantileUs(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) {
        const low = lowerBoundOf(i);
        const high = i + 1 < BUCKETS ? lowerBoundOf(i + 1) : low;
        return Math.min((low + high) / 2, this.maxUs);
      }
    }
    return this.maxUs;
  }

  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.count,
      p50Ms: ms(this.quantileUs(0.5)),
      p90Ms: ms(this.quantileUs(0.9)),
      p99Ms: ms(this.quantileUs(0.99)),
      maxMs: this.count ? ms(this.maxUs) : NaN,
    };
  }
}
