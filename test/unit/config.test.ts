import assert from 'node:assert/strict';
import { ConfigError, describeConfig, loadConfig } from '../../server/config.js';

describe('config', () => {
  it('has working defaults and an in-memory broker without Redis settings', () => {
    const config = loadConfig({});
    assert.equal(config.port, 3000);
    assert.equal(config.historySize, 1000);
    assert.equal(config.heartbeatMs, 15_000);
    assert.equal(config.maxBodyBytes, 16 * 1024);
    assert.equal(config.keepAliveTimeoutMs, 5000);
    assert.equal(config.redis, null);
    assert.equal(config.eventLoopSliceUs, 100);
    assert.ok(Object.isFrozen(config));
  });

  it('reads numbers and the Redis cluster list', () => {
    const config = loadConfig({ PORT: '8080', HISTORY_SIZE: '50', REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001' });
    assert.equal(config.port, 8080);
    assert.equal(config.historySize, 50);
    assert.deepEqual(config.redis, { kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-b', port: 7001 }] });
  });

  it('names every bad variable in one error', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', HISTORY_SIZE: '0', REGION: 'bad region', REDIS_CLUSTER_NODES: 'nohost' }),
      (error: unknown) => error instanceof ConfigError && /PORT/.test(error.message) && /HISTORY_SIZE/.test(error.message) && /REGION/.test(error.message) && /REDIS_CLUSTER_NODES/.test(error.message),
    );
    assert.throws(() => loadConfig({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'a:1' }), /not both/);
    assert.throws(() => loadConfig({ REDIS_URL: 'http://a' }), ConfigError);
    // Node would advertise `Keep-Alive: timeout=0` below a second.
    assert.throws(() => loadConfig({ KEEP_ALIVE_TIMEOUT_MS: '500' }), /KEEP_ALIVE_TIMEOUT_MS/);
    // Below Node's socket high-water mark a replay would wait for a 'drain' that never comes.
    assert.throws(() => loadConfig({ SLOW_CLIENT_BYTES: '8192' }), /SLOW_CLIENT_BYTES/);
    assert.equal(loadConfig({ SLOW_CLIENT_BYTES: '65536' }).slowClientBytes, 65536);
    // The kernel would clamp 50 us up to 100 without a word.
    assert.throws(() => loadConfig({ EVENT_LOOP_SLICE_US: '50' }), /EVENT_LOOP_SLICE_US/);
    assert.equal(loadConfig({ EVENT_LOOP_SLICE_US: '0' }).eventLoopSliceUs, 0);
    assert.equal(loadConfig({}).directWrites, true);
    assert.equal(loadConfig({ DIRECT_WRITES: 'off' }).directWrites, false);
    assert.throws(() => loadConfig({ DIRECT_WRITES: 'false' }), /DIRECT_WRITES: 'on' or 'off'/);
    assert.equal(loadConfig({}).postLane, true);
    assert.equal(loadConfig({ POST_LANE: 'off' }).postLane, false);
    assert.deepEqual([loadConfig({}).postLaneFanOut, loadConfig({ POST_LANE: 'reads' }).postLane, loadConfig({ POST_LANE: 'reads' }).postLaneFanOut], [true, true, false]);
    assert.throws(() => loadConfig({ POST_LANE: '0' }), /POST_LANE: 'on', 'reads' or 'off'/);
    assert.equal(loadConfig({}).parallelScavenge, 'auto');
    assert.equal(loadConfig({ PARALLEL_SCAVENGE: 'off' }).parallelScavenge, 'off');
    assert.throws(() => loadConfig({ PARALLEL_SCAVENGE: '1' }), /PARALLEL_SCAVENGE: 'auto', 'on' or 'off'/);
  });

  it('masks the Redis credentials when printed, however the URL writes them', () => {
    for (const [url, shown] of [
      ['redis://user:secret@db:6379/0', 'redis://***:***@db:6379/0'],
      // The password holds an '@': the URL's user part ends at the last one.
      ['redis://default:p@ss@db:6379', 'redis://***:***@db:6379'],
      // ioredis reads a password from the query too.
      ['redis://db:6379?password=secret&db=1', 'redis://db:6379?password=***&db=1'],
    ] as const) {
      const printed = JSON.stringify(describeConfig(loadConfig({ REDIS_URL: url })));
      assert.ok(!/secret|p@ss|ss@/.test(printed), printed);
      assert.ok(printed.includes(shown), printed);
    }
  });

  it('takes numbers as decimal digits only: a blank or odd one is an error, not 0', () => {
    for (const value of [' ', '1e3', '0x10', '3000.5', '-1']) {
      assert.throws(() => loadConfig({ PORT: value }), /PORT/, JSON.stringify(value));
      assert.throws(() => loadConfig({ RATE_LIMIT_POSTS: value }), /RATE_LIMIT_POSTS/, JSON.stringify(value));
    }
    assert.equal(loadConfig({ PORT: ' 8080 ' }).port, 8080);
    assert.equal(loadConfig({ RATE_LIMIT_POSTS: '0' }).rateLimitPosts, 0);
  });
});
