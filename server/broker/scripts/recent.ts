// The recent script (Lua): the newest entries of a stream's log within the age limit.
export const RECENT_LUA = String.raw`
-- The newest entries of a stream's log, newest first, leaving out those past the age limit, and
-- the log's newest id, aged out or not ('' for an empty log), in one step.
-- KEYS[1] log   ARGV[1] limit   ARGV[2] max age ms (0: none)
-- Returns { { {id, {field, value, ...}}, ... }, newest id or '' }
--
-- One key only: while a slot migrates, Redis refuses (TRYAGAIN) a script declaring several keys
-- when some are absent, and a stream nobody posted to yet has none.
local oldest = '-'
local maxAgeMs = tonumber(ARGV[2])
if maxAgeMs > 0 then
  local time = redis.call('TIME')
  local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  oldest = string.format('%.0f', nowMs - maxAgeMs) .. '-0'
end
local entries = redis.call('XREVRANGE', KEYS[1], '+', oldest, 'COUNT', tonumber(ARGV[1]))
local newest = entries
if #newest == 0 then newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1) end
local id = ''
if #newest > 0 then id = newest[1][1] end
return { entries, id }
`;
