-- Site chrome: count, per host, on how many distinct pages each text block was seen, and say which of a
-- page's blocks are chrome (seen on at least min_pages distinct pages of its host). See streams/chrome.py.
--
-- ARGV: 1 key prefix (ends with ':c:'), 2 min_pages, 3 max blocks kept per host, 4 TTL seconds of a
-- host's key, 5 number of pages; then per page: host, page tag (4 bytes), block hashes (8 bytes each,
-- distinct).
-- Returns per page the concatenated hashes of its blocks that are chrome once this page is counted.
--
-- One hash per host. A block's value is a mark byte (the host's prune round when the block was last
-- seen) then the 4-byte tags of up to min_pages distinct pages: a page counted again (redelivery, or the
-- same text under another URL) finds its tag there and changes nothing. Field '' holds the prune round.
-- When a host has more than max_blocks blocks, the hash is pruned: blocks seen on fewer than min_pages
-- pages go (mostly story paragraphs, seen once), and so does chrome not seen since the previous prune.

local prefix = ARGV[1]
local min_pages = tonumber(ARGV[2])
local max_blocks = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local npages = tonumber(ARGV[5])
local full = 1 + 4 * min_pages

local function prune(key)
  local round = tonumber(redis.call('HGET', key, '') or '0')
  local mark = string.char(round % 256)
  local all = redis.call('HGETALL', key)
  local gone = {}
  for i = 1, #all, 2 do
    local field, value = all[i], all[i + 1]
    if field ~= '' and (string.len(value) < full or string.sub(value, 1, 1) ~= mark) then
      gone[#gone + 1] = field
    end
  end
  for i = 1, #gone, 1000 do
    redis.call('HDEL', key, unpack(gone, i, math.min(i + 999, #gone)))
  end
  redis.call('HSET', key, '', (round + 1) % 256)
end

local replies = {}
for p = 0, npages - 1 do
  local host, tag, blocks = ARGV[6 + 3 * p], ARGV[7 + 3 * p], ARGV[8 + 3 * p]
  local key = prefix .. host
  local nblocks = string.len(blocks) / 8
  local chrome = {}
  if nblocks > 0 then
    local fields = {''}
    for b = 1, nblocks do fields[b + 1] = string.sub(blocks, 8 * b - 7, 8 * b) end
    local values = redis.call('HMGET', key, unpack(fields))
    local mark = string.char(tonumber(values[1] or '0') % 256)
    local writes = {}
    for b = 1, nblocks do
      local value = values[b + 1] or mark
      local tags = string.sub(value, 2)
      if string.len(tags) < 4 * min_pages then
        local known = false
        for at = 1, string.len(tags), 4 do
          if string.sub(tags, at, at + 3) == tag then known = true; break end
        end
        if not known then tags = tags .. tag end
      end
      -- Written when the page is new to the block, or the block was last seen in an earlier round.
      if string.sub(value, 2) ~= tags or string.sub(value, 1, 1) ~= mark then
        writes[#writes + 1] = fields[b + 1]
        writes[#writes + 1] = mark .. tags
      end
      if string.len(tags) >= 4 * min_pages then chrome[#chrome + 1] = fields[b + 1] end
    end
    if #writes > 0 then redis.call('HSET', key, unpack(writes)) end
    redis.call('EXPIRE', key, ttl)
    if redis.call('HLEN', key) > max_blocks + 1 then prune(key) end
  end
  replies[p + 1] = table.concat(chrome)
end
return replies
