-- One atomic query-and-insert of an article into the LSH index (see streams/index.py for the layout).
--
-- ARGV: 1 prefix, 2 current generation, 3 generations to read back, 4 epoch expected, 5 article id,
-- 6 url, 7 shingle count, 8 compact signature, 9 jaccard threshold, 10 containment threshold,
-- 11 min containment shingles, 12 max candidates, 13 id shard, 14 id field, 15 url shard, 16 url field,
-- 17 exact shard, 18 exact field, 19 number of bands n, 20 lead threshold, 21 lead containment
-- threshold, 22 compact lead signature, 23 the n bands packed (per band a big-endian uint32 shard and
-- uint32 field: one argument instead of 2n, which the client encodes and the script reads for less),
-- 24 the decision time (base-36 Unix ms).
-- Returns {status, ...}: see decode_reply in streams/index.py.

local prefix = ARGV[1]
local gen = tonumber(ARGV[2])
local back = tonumber(ARGV[3])
local epoch = ARGV[4]
local article_id, url = ARGV[5], ARGV[6]
local count = tonumber(ARGV[7])
local sig = ARGV[8]
local jt, ct, min_c = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local max_candidates = tonumber(ARGV[12])
local nbands = tonumber(ARGV[19])
local lead_t, lead_ct = tonumber(ARGV[20]), tonumber(ARGV[21])
local lead = ARGV[22]
local packed_bands = ARGV[23]
local decided_at = ARGV[24] or ''

-- The epoch and the first article number of each live generation, in one call. Article numbers only
-- grow, so an entry is live when its number is at least the first number of the oldest live generation:
-- entries of every generation share one hash per shard, and nothing needs a TTL of its own.
local meta_key = prefix .. ':meta'
local fields = {'epoch'}
for g = gen, gen - back, -1 do fields[#fields + 1] = 'g' .. g end
local meta = redis.call('HMGET', meta_key, unpack(fields))
if meta[1] ~= epoch then
  return {'epoch_mismatch', meta[1] or ''}
end
local seq_key = prefix .. ':seq'
if not meta[2] then
  -- The first article of this generation: it starts at the next number.
  meta[2] = tostring(tonumber(redis.call('GET', seq_key) or '0') + 1)
  redis.call('HSETNX', meta_key, fields[2], meta[2])
end
local min_live = nil
for i = 2, #fields do
  local first = tonumber(meta[i])
  if first and (min_live == nil or first < min_live) then min_live = first end
end

local function shard_key(shard) return prefix .. ':' .. shard end
local function record_key(iid) return prefix .. ':r:' .. math.floor(iid / 128) end

local function lookup(shard, field)
  local v = redis.call('HGET', shard_key(shard), field)
  if v and tonumber(v) >= min_live then return v end
  return nil
end

-- Split on the first n NULs only: the signature at the end of a unique record may contain NUL bytes.
-- Records written with their decision time (kind U or D) give it as parts.time and the rest as the
-- older u and d records, which stay readable.
local function split(rec)
  local kind = string.sub(rec, 1, 1)
  local n = ({u = 4, d = 5, U = 5, D = 6})[kind] or 5
  local parts, pos = {}, 1
  for _ = 1, n do
    local i = string.find(rec, '\0', pos, true)
    if not i then break end
    parts[#parts + 1] = string.sub(rec, pos, i - 1)
    pos = i + 1
  end
  parts[#parts + 1] = string.sub(rec, pos)
  if kind == 'U' or kind == 'D' then
    parts.time = table.remove(parts, 2)
    parts[1] = string.lower(kind)
  end
  return parts
end

-- A unique record: U \0 time \0 count \0 url \0 id \0 signature .. lead signature.
-- A duplicate record: D \0 time \0 canonical iid \0 match \0 measure \0 similarity \0 threshold.
-- The time (base-36 Unix milliseconds, 8 bytes) is when the article was first decided, so a replayed
-- decision is the same record, byte for byte.
local function get_record(iid)
  local rec = redis.call('HGET', record_key(iid), tostring(iid))
  if rec then return split(rec) end
  return nil
end

local function put(shard, field, value)
  redis.call('HSET', shard_key(shard), field, value)
end

local function put_record(iid, value)
  redis.call('HSET', record_key(iid), tostring(iid), value)
end

local function canonical_of(iid)
  local rec = get_record(iid)
  if rec and rec[1] == 'd' then return tonumber(rec[2]), get_record(tonumber(rec[2])) end
  return iid, rec
end

-- 1. The same article again (redelivery): the decision it got the first time.
local seen = lookup(ARGV[13], ARGV[14])
if seen then
  local iid = tonumber(seen)
  local rec = get_record(iid)
  if not rec then return {'replay_lost', seen} end
  if rec[1] == 'u' then return {'unique', seen, '1', rec.time or ''} end
  local canon = get_record(tonumber(rec[2])) or {'u', '0', '', '', ''}
  return {'duplicate', seen, '1', rec[3], rec[4], rec[5], rec[6], canon[4], canon[3], rec.time or ''}
end

local iid = redis.call('INCR', seq_key)

-- The URL and exact entries of a duplicate name the duplicate itself (its record names the canonical
-- article): an entry is then live for as long as its own number is, like every other entry.
local function as_duplicate(canon_iid, canon, match, measure, sim, thr)
  put_record(iid, 'D\0' .. decided_at .. '\0' .. canon_iid .. '\0' .. match .. '\0' .. measure .. '\0' .. sim
    .. '\0' .. thr)
  put(ARGV[13], ARGV[14], iid)
  put(ARGV[15], ARGV[16], iid)
  put(ARGV[17], ARGV[18], iid)
  return {'duplicate', tostring(iid), '0', match, measure, sim, thr, canon[4], canon[3], decided_at}
end

-- 2. The same page again, or 3. the same words again.
for _, probe in ipairs({{15, 'url'}, {17, 'exact'}}) do
  local hit = lookup(ARGV[probe[1]], ARGV[probe[1] + 1])
  if hit then
    local canon_iid, canon = canonical_of(tonumber(hit))
    if canon then return as_duplicate(canon_iid, canon, probe[2], probe[2], '1', '1') end
  end
end

-- 4. Near duplicates: LSH candidates, verified on their stored signatures. A bucket holds the numbers
-- of the unique articles that share the band, oldest first; the live ones are kept for the rewrite.
local band_shards, band_fields, band_values = {}, {}, {}
local candidates, ncand = {}, 0
for b = 0, nbands - 1 do
  local shard, field = struct.unpack('>I4>I4', packed_bands, 8 * b + 1)
  field = tostring(field)
  band_shards[b], band_fields[b] = shard, field
  local v = redis.call('HGET', shard_key(shard), field)
  if v then
    local live, stale = {}, false
    for c in string.gmatch(v, '[^,]+') do
      if tonumber(c) >= min_live then
        live[#live + 1] = c
        if not candidates[c] and ncand < max_candidates then
          candidates[c] = true
          ncand = ncand + 1
        end
      else
        stale = true
      end
    end
    if stale then band_values[b] = table.concat(live, ',') else band_values[b] = v end
  end
end

-- Estimated Jaccard of two 8-bit signatures; values agree by chance 1 time in 256, corrected for.
-- ``mine`` holds this article's bytes (unpacked once); the candidate's are unpacked with one
-- string.byte call rather than one call per byte: verification was most of the script's time.
local function estimate(mine, other, from, n)
  if n == 0 then return 0 end
  local theirs = {string.byte(other, from, from + n - 1)}
  local equal = 0
  for i = 1, n do
    if mine[i] == theirs[i] then equal = equal + 1 end
  end
  local j = (equal / n - 1 / 256) / (1 - 1 / 256)
  if j < 0 then return 0 end
  return j
end

-- The rule of streams.fingerprint.verify, on the same numbers.
local nperm, nlead = string.len(sig), string.len(lead)
local sig_bytes, lead_bytes = {string.byte(sig, 1, nperm)}, {string.byte(lead, 1, nlead)}
local best_iid, best_rec, best_j, best_measure, best_value, best_thr = nil, nil, -1, nil, nil, nil
for c, _ in pairs(candidates) do
  local cid = tonumber(c)
  local rec = get_record(cid)
  if rec and rec[1] == 'u' and string.len(rec[5]) == nperm + nlead then
    local other = rec[5]
    local j = estimate(sig_bytes, other, 1, nperm)
    local other_count = tonumber(rec[2])
    local smaller = math.min(count, other_count)
    -- Containment from a lower confidence bound of j (two standard errors), as in verify().
    local j_lo = math.max(0, j - 2 * math.sqrt(j * (1 - j) / nperm))
    local cont = 0
    if smaller > 0 then cont = math.min(1, j_lo * (count + other_count) / ((1 + j_lo) * smaller)) end
    local measure, value, thr = nil, nil, nil
    if j >= jt then
      measure, value, thr = 'jaccard', j, jt
    elseif smaller >= min_c and cont >= ct then
      measure, value, thr = 'containment', cont, ct
    elseif cont >= lead_ct and estimate(lead_bytes, other, nperm + 1, nlead) >= lead_t then
      measure, value, thr = 'lead_containment', cont, lead_ct
    end
    if measure and (j > best_j or (j == best_j and cid < best_iid)) then
      best_iid, best_rec, best_j, best_measure, best_value, best_thr = cid, rec, j, measure, value, thr
    end
  end
end
if best_iid then
  return as_duplicate(best_iid, best_rec, 'near', best_measure, string.format('%.4f', best_value), tostring(best_thr))
end

-- 5. New: index it.
put_record(iid, 'U\0' .. decided_at .. '\0' .. count .. '\0' .. url .. '\0' .. article_id .. '\0' .. sig .. lead)
put(ARGV[13], ARGV[14], iid)
put(ARGV[15], ARGV[16], iid)
put(ARGV[17], ARGV[18], iid)
for b = 0, nbands - 1 do
  local prev = band_values[b]
  put(band_shards[b], band_fields[b], (prev and prev ~= '') and (prev .. ',' .. iid) or tostring(iid))
end
return {'unique', tostring(iid), '0', decided_at}
