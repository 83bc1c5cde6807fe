// The recent script (Lua): the newest entries of a stream's log within the age limit.
export const RECENT_LUA = String.raw`
-- The newest entries of a stream's log, newest first, leaving out those past the age limit.
-- KEYS[1] log   ARGV[1] limit   ARGV[2] max age ms (0: none)
local oldest = '-'
local maxAgeMs = tonumber(ARGV[2])
if maxAgeMs > 0 then
  local time = redis.call('TIME')
  local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  oldest = string.format('%.0f', nowMs - maxAgeMs) .. '-0'
end
return redis.call('XREVRANGE', KEYS[1], '+', oldest, 'COUNT', tonumber(ARGV[1]))
`;
