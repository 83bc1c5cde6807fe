// Every setting of a node: its environment variable, type, default and validation. Read once at
// start by main.ts, frozen, and passed to whatever needs it; nothing else reads process.env.
import { hostname } from 'node:os';
import { z } from 'zod';
import type { ParallelScavengeSetting } from './young-generation.js';

/**
 * A whole number written in decimal digits. Not z.coerce.number(): Number(' ') is 0, so a blank
 * PORT listened on a random port and a blank RATE_LIMIT_POSTS turned the limit off; and '1e3' or
 * '0x10' are not what anyone means in a setting.
 */
const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,16}$/, 'must be a whole number in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** A comma-separated `host:port` list, as in REDIS_CLUSTER_NODES. */
const hostPortList = z
  .string()
  .transform((text) => text.split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(
    z
      .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each entry must be host:port'))
      .min(1, 'list at least one host:port'),
  )
  .transform((entries) =>
    entries.map((entry) => {
      const at = entry.lastIndexOf(':');
      return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
    }),
  );

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, _ . - (max 64)');

const schema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  NODE_ID: name.default(() => `${hostname().slice(0, 40)}-${process.pid}`.replace(/[^A-Za-z0-9_.-]/g, '-')),
  REGION: name.default('local'),
  HISTORY_SIZE: int(1, 10_000_000).default(1000),
  HISTORY_MAX_AGE_MS: int(0, 365 * 24 * 3600 * 1000).default(0),
  PAGE_HISTORY: int(1, 1000).default(50),
  HEARTBEAT_MS: int(100, 3_600_000).default(15_000),
  RETRY_MS: int(100, 600_000).default(2000),
  MAX_AUTHOR_CHARS: int(1, 1000).default(50),
  MAX_TEXT_CHARS: int(1, 100_000).default(2000),
  MAX_BODY_BYTES: int(256, 10 * 1024 * 1024).default(16 * 1024),
  // At least 64 KiB: a replay waits for 'drain' above half the bound, and Node asks for it only
  // once a socket's writes pass its high-water mark (16 KiB, set in node.ts); below that a replay
  // stalled.
  SLOW_CLIENT_BYTES: int(64 * 1024, 1024 * 1024 * 1024).default(1024 * 1024),
  UNSUBSCRIBE_LINGER_MS: int(0, 600_000).default(2000),
  RATE_LIMIT_POSTS: int(0, 1_000_000).default(30),
  RATE_LIMIT_WINDOW_MS: int(100, 3_600_000).default(10_000),
  SHUTDOWN_TIMEOUT_MS: int(100, 60_000).default(8000),
  KEEP_ALIVE_TIMEOUT_MS: int(1000, 3_600_000).default(5000),
  TRUST_PROXY_HOPS: int(0, 10).default(0),
  // The kernel takes 100 us to 100 ms; 0 keeps its default.
  EVENT_LOOP_SLICE_US: int(0, 100_000)
    .refine((us) => us === 0 || us >= 100, '0 (the kernel default) or 100 to 100000')
    .default(100),
  DIRECT_WRITES: z.enum(['on', 'off'], "'on' or 'off'").default('on'),
  POST_LANE: z.enum(['on', 'reads', 'off'], "'on', 'reads' or 'off'").default('on'),
  PARALLEL_SCAVENGE: z.enum(['auto', 'on', 'off'], "'auto', 'on' or 'off'").default('auto'),
  REDIS_CLUSTER_NODES: hostPortList.optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  port: number;
  host: string;
  nodeId: string;
  region: string;
  historySize: number;
  /** 0 keeps messages until HISTORY_SIZE pushes them out. */
  historyMaxAgeMs: number;
  /** How many recent messages the stream page renders server-side. */
  pageHistory: number;
  heartbeatMs: number;
  /** Sent once as SSE `retry:`, the client's reconnect delay. */
  retryMs: number;
  maxAuthorChars: number;
  maxTextChars: number;
  maxBodyBytes: number;
  /** Unsent bytes queued for one viewer before the node cuts it off (it resumes by id). */
  slowClientBytes: number;
  /** How long a stream with no local viewers stays subscribed, so a reload does not churn Redis. */
  unsubscribeLingerMs: number;
  /** Posts per client IP per window; 0 turns the limit off. */
  rateLimitPosts: number;
  rateLimitWindowMs: number;
  shutdownTimeoutMs: number;
  /** An idle kept-alive HTTP connection closes after this (behind a load balancer: longer than its idle timeout). */
  keepAliveTimeoutMs: number;
  /** Proxies in front of the node whose X-Forwarded-For is believed (rate limits key on the client). */
  trustProxyHops: number;
  /** The event loop's scheduling slice on Linux 6.12+ (native/scheduler.ts); 0 keeps the kernel's. */
  eventLoopSliceUs: number;
  /** Frames to viewers written with send(2) on the descriptor where it can (native/socket-writer.ts). */
  directWrites: boolean;
  /** Kept-alive post connections read in C between requests, where it may be (native/post-lane.c). */
  postLane: boolean;
  /** The lane also writes posts to small rooms' viewers itself (POST_LANE=on; `reads` leaves that to JavaScript). */
  postLaneFanOut: boolean;
  /** V8's scavenges on helper threads; `auto`: not where the process may use one CPU only (young-generation.ts). */
  parallelScavenge: ParallelScavengeSetting;
  redis: { kind: 'cluster'; nodes: { host: string; port: number }[] } | { kind: 'single'; url: string } | null;
  logLevel: string;
}

export class ConfigError extends Error {}

/** Builds the config from an environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Readonly<Config> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.REDIS_CLUSTER_NODES && e.REDIS_URL) {
    throw new ConfigError('invalid configuration:\n  set REDIS_CLUSTER_NODES or REDIS_URL, not both');
  }
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    nodeId: e.NODE_ID,
    region: e.REGION,
    historySize: e.HISTORY_SIZE,
    historyMaxAgeMs: e.HISTORY_MAX_AGE_MS,
    pageHistory: e.PAGE_HISTORY,
    heartbeatMs: e.HEARTBEAT_MS,
    retryMs: e.RETRY_MS,
    maxAuthorChars: e.MAX_AUTHOR_CHARS,
    maxTextChars: e.MAX_TEXT_CHARS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    slowClientBytes: e.SLOW_CLIENT_BYTES,
    unsubscribeLingerMs: e.UNSUBSCRIBE_LINGER_MS,
    rateLimitPosts: e.RATE_LIMIT_POSTS,
    rateLimitWindowMs: e.RATE_LIMIT_WINDOW_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
    trustProxyHops: e.TRUST_PROXY_HOPS,
    eventLoopSliceUs: e.EVENT_LOOP_SLICE_US,
    directWrites: e.DIRECT_WRITES === 'on',
    postLane: e.POST_LANE !== 'off',
    postLaneFanOut: e.POST_LANE === 'on',
    parallelScavenge: e.PARALLEL_SCAVENGE,
    redis: e.REDIS_CLUSTER_NODES
      ? { kind: 'cluster' as const, nodes: e.REDIS_CLUSTER_NODES }
      : e.REDIS_URL
        ? { kind: 'single' as const, url: e.REDIS_URL }
        : null,
    logLevel: e.LOG_LEVEL,
  });
}

/** The config as printed at startup: the Redis URL may carry a password. */
export function describeConfig(config: Readonly<Config>): Record<string, unknown> {
  const redis = config.redis?.kind === 'single' ? { ...config.redis, url: maskUrl(config.redis.url) } : config.redis;
  return { ...config, redis };
}

/**
 * A URL with its credentials masked, wherever they are written: as user and password (the
 * password may itself hold an '@'), or as query parameters, which ioredis reads too.
 */
function maskUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '***';
  }
  if (url.username) url.username = '***';
  if (url.password) url.password = '***';
  for (const key of [...url.searchParams.keys()]) {
    if (/^(password|username|user|pass)$/i.test(key)) url.searchParams.set(key, '***');
  }
  return url.toString();
}
