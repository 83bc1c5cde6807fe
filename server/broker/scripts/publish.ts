// The publish script (Lua, run by EVALSHA on the shard owning the stream). Kept as a TypeScript string
// so it ships inside dist/ with the compiled broker: tsc copies no .lua and the image holds dist only.
export const PUBLISH_LUA = String.raw`
-- Stores one chat message in its stream's log and announces it on the stream's shard channel, in
-- one atomic step on the shard that owns both, so pub/sub order equals id order for everyone.
-- KEYS[1] log (a Redis Stream)   KEYS[2] newest trimmed id ('' until a trim)
-- ARGV[1] shard channel   ARGV[2] message body (JSON)   ARGV[3] history size   ARGV[4] trim slack
-- ARGV[5] max age ms (0: none)
-- Returns the new entry id.
--
-- The channel is no key: declared as one, it would be a key that never exists, and while the
-- slot migrates Redis refuses (TRYAGAIN) a script whose keys are some present and some not.
-- For the same reason the trimmed-id key is made to exist with the log, from its first message.

-- The payload carries the id of the entry before this one. Pub/sub never says it dropped
-- something (a resubscribe after a failover can fail silently), so a subscriber whose last
-- delivered id differs from this previous id knows at once that it must read the log.
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local previous = ''
if #newest > 0 then previous = newest[1][1] end

local id = redis.call('XADD', KEYS[1], '*', 'm', ARGV[2])
redis.call('SET', KEYS[2], '', 'NX')

-- Trimmed here and not with XADD MAXLEN ~, because neither that nor XINFO's max-deleted-entry-id
-- says what trimming removed, and a reader must tell "you missed messages" from "you are up to
-- date". The slack lets a trim happen once every slack publishes instead of on every one.
local historySize = tonumber(ARGV[3])
local length = redis.call('XLEN', KEYS[1])
if length > historySize + tonumber(ARGV[4]) then
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', length - historySize + 1)
  redis.call('SET', KEYS[2], oldest[length - historySize][1])
  redis.call('XTRIM', KEYS[1], 'MINID', oldest[length - historySize + 1][1])
end

-- The age limit is measured on the new id, i.e. on this shard's clock, never a node's.
local maxAgeMs = tonumber(ARGV[5])
if maxAgeMs > 0 then
  local cutoff = string.format('%.0f', tonumber(string.match(id, '^(%d+)-')) - maxAgeMs) .. '-0'
  local expired = redis.call('XREVRANGE', KEYS[1], '(' .. cutoff, '-', 'COUNT', 1)
  if #expired > 0 then
    redis.call('SET', KEYS[2], expired[1][1])
    redis.call('XTRIM', KEYS[1], 'MINID', cutoff)
  end
end

-- Published only after XADD succeeded: a message on the channel is always in the log too, which
-- is what lets subscribers repair any gap from the log.
redis.call('SPUBLISH', ARGV[1], 'v1\n' .. id .. '\n' .. previous .. '\n' .. ARGV[2])
return id
`;
