#!lua flags=allow-oom
-- Removes the small-hash entries (id, URL, exact) and records that have left the retention window, a
-- slice at a time. The band table needs no sweep: its rings overwrite the entries that left first.
--
-- An entry is live while its article number is at least the first number of the oldest live generation
-- (see decide.lua); lookups already skip the others, and this script reclaims their memory. Each call
-- sweeps the next ARGV[4] shards after the shared cursor, so any number of workers share one pass.
--
-- ARGV: 1 prefix, 2 current generation, 3 generations to read back, 4 shards to sweep, 5 shard count,
-- 6 record blocks to delete at most. Flagged allow-oom: it only frees memory, which a full Redis needs.
-- Returns {shards swept, entries removed, record blocks deleted, cursor after, 1 if the pass wrapped}.

local prefix = ARGV[1]
local gen = tonumber(ARGV[2])
local back = tonumber(ARGV[3])
local todo = tonumber(ARGV[4])
local shard_count = tonumber(ARGV[5])
local max_blocks = tonumber(ARGV[6])

local meta_key = prefix .. ':meta'
local names = {}
for g = gen, gen - back, -1 do names[#names + 1] = 'g' .. g end
local starts = redis.call('HMGET', meta_key, unpack(names))
local min_live = nil
for i = 1, #starts do
  local first = tonumber(starts[i])
  if first and (min_live == nil or first < min_live) then min_live = first end
end
if min_live == nil then
  -- No article in any live generation: every number so far has left the window.
  min_live = tonumber(redis.call('GET', prefix .. ':seq') or '0') + 1
end

-- Generations older than the window are forgotten (their entries are what is being swept).
local oldest = gen - back
for _, name in ipairs(redis.call('HKEYS', meta_key)) do
  if string.sub(name, 1, 1) == 'g' and tonumber(string.sub(name, 2)) < oldest then
    redis.call('HDEL', meta_key, name)
  end
end

local cursor_key = prefix .. ':sweep'
local cursor = tonumber(redis.call('GET', cursor_key) or '0') % shard_count
local removed, swept = 0, 0
local last = math.min(cursor + todo, shard_count) - 1
for shard = cursor, last do
  local key = prefix .. ':' .. shard
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    local value = flat[i + 1]
    local live, stale = {}, false
    for c in string.gmatch(value, '[^,]+') do
      if tonumber(c) >= min_live then live[#live + 1] = c else stale = true end
    end
    if stale then
      if #live == 0 then
        redis.call('HDEL', key, flat[i])
      else
        redis.call('HSET', key, flat[i], table.concat(live, ','))
      end
      removed = removed + 1
    end
  end
  swept = swept + 1
end
local after = last + 1
local wrapped = 0
if after >= shard_count then after, wrapped = 0, 1 end
redis.call('SET', cursor_key, after)

-- Records live in blocks of 128 numbers; a block whose last number has left the window goes whole.
local blocks_key = prefix .. ':rswept'
local block = tonumber(redis.call('GET', blocks_key) or '0')
local dead_below = math.floor(min_live / 128)
local deleted = 0
while block < dead_below and deleted < max_blocks do
  redis.call('UNLINK', prefix .. ':r:' .. block)
  block = block + 1
  deleted = deleted + 1
end
redis.call('SET', blocks_key, block)

return {swept, removed, deleted, after, wrapped}
