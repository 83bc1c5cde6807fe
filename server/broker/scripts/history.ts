// The history script (Lua): one atomic read of a stream's log and of its newest trimmed id.
export const HISTORY_LUA = String.raw`
-- Reads a stream's log after an id together with the newest entry trimmed away before this read,
-- in one step so that no trim can fall between the two and hide a gap.
-- KEYS[1] log   KEYS[2] newest trimmed id
-- ARGV[1] after id ('' for everything retained)   ARGV[2] limit   ARGV[3] max age ms (0: none)
-- ARGV[4] '1' when the after id is an entry the reader was given from this log
-- Returns { newest trimmed id or '', { {id, {field, value, ...}}, ... } oldest first, position,
-- gone } where position is the newest entry's id, aged out or not ('' for an empty log with no
-- trims), and gone is '1' when ARGV[4] asked and that entry is no longer in the log though
-- newer than every trim: the log forked under the reader (a failover dropped writes it had seen).
local trimmed = redis.call('GET', KEYS[2]) or ''
local after = ARGV[1]
local from = '-'
if after ~= '' then from = '(' .. after end

local function older(a, b)
  local aMs, aSeq = string.match(a, '^(%d+)-(%d+)$')
  local bMs, bSeq = string.match(b, '^(%d+)-(%d+)$')
  aMs, bMs = tonumber(aMs), tonumber(bMs)
  return aMs < bMs or (aMs == bMs and tonumber(aSeq) < tonumber(bSeq))
end

-- Entries past the age limit count as trimmed already, even before the next publish removes
-- them, so an idle stream ages out exactly as the in-memory broker's does.
local maxAgeMs = tonumber(ARGV[3])
if maxAgeMs > 0 then
  local time = redis.call('TIME')
  local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  local cutoff = string.format('%.0f', nowMs - maxAgeMs) .. '-0'
  local expired = redis.call('XREVRANGE', KEYS[1], '(' .. cutoff, '-', 'COUNT', 1)
  if #expired > 0 then
    trimmed = expired[1][1]
    if after == '' or older(after, cutoff) then from = cutoff end
  end
end

-- Where the stream is, in the same step: trims keep the newest entry, so only a log lost another
-- way (eviction, a failover onto a replica without it) is empty with a trimmed id left (which the
-- age limit above leaves as stored: it changes it only in a log with entries).
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local position = trimmed
if #newest > 0 then position = newest[1][1] end

local gone = ''
if ARGV[4] == '1' and after ~= '' and (trimmed == '' or older(trimmed, after)) then
  if #redis.call('XRANGE', KEYS[1], after, after) == 0 then gone = '1' end
end

return { trimmed, redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', tonumber(ARGV[2])), position, gone }
`;
