-- Atomic query-and-insert of a batch of articles into the LSH index, in order (see streams/index.py for
-- the layout). One call decides a whole batch: the settings travel once, each article in seven arguments.
--
-- ARGV: 1 prefix, 2 current generation, 3 generations to read back, 4 epoch expected, 5 jaccard
-- threshold, 6 containment threshold, 7 min containment shingles, 8 max candidates, 9 lead threshold,
-- 10 lead containment threshold, 11 signature length (the rest of a signature argument is the lead
-- signature), 12 the decision time (base-36 Unix ms), 13 same-host title threshold, 14 number of
-- articles; then per article: id, url, shingle count, compact signature .. compact lead, the id, URL,
-- exact and name keys packed (four big-endian uint32 shards, then four 6-byte fields; the id key hashes
-- the id with the URL and exact keys, the name key the id alone, and both sit in the name's shard:
-- streams/index.py article_args), the bands packed (per band a big-endian uint32 bucket position in the
-- batch's list of buckets, a uint16 0 and the 2-byte check: packed_bands and batch_bands in
-- streams/index.py), the title sketch (4 hex digits a word: title_sketch in streams/fingerprint.py);
-- then the batch's buckets: the number of band hashes, and per hash its number and its fields packed.
--
-- The call is light on Redis commands: the buckets of the batch's bands are read first, in one HMGET per
-- band hash, and every write (buckets, records, entries) waits in this script's tables until the batch is
-- decided, then goes in one HSET per key. Until then the tables answer the batch's own lookups, so each
-- article sees the writes of those before it, as if they had been made at once.
-- Returns {'epoch_mismatch', epoch} or one reply per article, its parts joined by NUL bytes: see
-- decode_reply in streams/index.py.

local prefix = ARGV[1]
local gen = tonumber(ARGV[2])
local back = tonumber(ARGV[3])
local epoch = ARGV[4]
local jt, ct, min_c = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local max_candidates = tonumber(ARGV[8])
local lead_t, lead_ct = tonumber(ARGV[9]), tonumber(ARGV[10])
local nperm = tonumber(ARGV[11])
local decided_at = ARGV[12]
local title_t = tonumber(ARGV[13])
local narticles = tonumber(ARGV[14])

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
-- Article numbers: the batch reserves one per article in one call and gives back at the end what its
-- replays did not use. (Reserved first: a script that fails half way has used up its numbers, which
-- are never handed out again, and written nothing else, as its other writes come at the end.)
local seq_key = prefix .. ':seq'
local reserved = redis.call('INCRBY', seq_key, narticles)
local seq = reserved - narticles
if not meta[2] then
  -- The first article of this generation: it starts at the next number.
  meta[2] = tostring(seq + 1)
  redis.call('HSETNX', meta_key, fields[2], meta[2])
end
local min_live = nil
for i = 2, #fields do
  local first = tonumber(meta[i])
  if first and (min_live == nil or first < min_live) then min_live = first end
end

local shard_prefix = prefix .. ':'
local record_prefix = prefix .. ':r:'
local table_prefix = prefix .. ':b:'

-- The band table (see streams/index.py: the constants must match): hashes of up to 65,536 buckets, a
-- bucket one field (its number's low 16 bits, 2 bytes; the hash: the high bits) of SLOTS slots of 6 bytes,
-- a slot the band's 2-byte check (top bit set) and the article's number (its low 32 bits, big-endian),
-- or zeros. A bucket keeps its entries newest first: a write puts the new entry in front and drops the
-- last slot, the bucket's oldest entry (one that has left the window; past capacity, the oldest
-- article's). Every string that enters Lua is hashed byte by byte by Redis's Lua, so the new bucket is
-- made in one struct.pack (the entry, then the first SLOTS - 1 slots of the old one), which creates
-- only that string. What a lookup or a write costs does not depend on how full the index is.
local SLOTS, SLOT_BYTES, BUCKETS_PER_KEY = 41, 6, 1
local BUCKET_BYTES = SLOTS * SLOT_BYTES
local EMPTY_BUCKET = string.rep('\0', BUCKET_BYTES)
local WRITE_FORMAT = '>c2I4c' .. (BUCKET_BYTES - SLOT_BYTES)
local LAST_SLOT = BUCKET_BYTES - SLOT_BYTES + 1
local MAX_ARGS = 1000  -- fields or pairs of one HMGET or HSET (Lua's unpack has a stack limit)
-- Per band of the article being decided (reused from one article to the next).
local band_buckets, band_checks = {}, {}
local evicted = 0
-- A slot keeps an article number's low 32 bits: the number is the latest one reserved with those bits.
local function full_number(low) return reserved - ((reserved - low) % 4294967296) end

-- Every bucket of the batch's bands, read at once and then kept up to date here: bucket position in the
-- batch (from 1) -> its bytes (false: never written). The client lists the batch's buckets once each,
-- grouped by band hash (after the articles' arguments: the number of hashes, then per hash its number
-- and its 2-byte fields packed: batch_bands in streams/index.py), and each band names its bucket by
-- its position in that list, so the script reads them with one HMGET per hash and no work per band.
local buckets, dirty_buckets, groups = {}, {}, {}
do
  local pos = 14 + 7 * narticles + 1
  local n = 0
  for gi = 1, tonumber(ARGV[pos]) do
    local h, packed = ARGV[pos + 2 * gi - 1], ARGV[pos + 2 * gi]
    local count = string.len(packed) / 2
    local fields = {}
    for i = 1, count do fields[i] = string.sub(packed, 2 * i - 1, 2 * i) end
    groups[gi] = {table_prefix .. h, n, fields}
    for first = 1, count, MAX_ARGS do
      local values = redis.call('HMGET', table_prefix .. h, unpack(fields, first, math.min(first + MAX_ARGS - 1, count)))
      for i = 1, #values do buckets[n + first + i - 1] = values[i] end
    end
    n = n + count
  end
end

-- Records (hashes of 128 numbers) and entries written by this batch: read from here until written.
local new_records, entries = {}, {}
local function record_key(iid) return record_prefix .. math.floor(iid / 128) end

local function lookup(shard, field)
  local v = entries[shard .. field] or redis.call('HGET', shard_prefix .. shard, field)
  if v and tonumber(v) >= min_live then return v end
  return nil
end

-- The id and name entries share a shard: one HMGET for both.
local function lookup_pair(shard, field1, field2)
  local v1, v2 = entries[shard .. field1], entries[shard .. field2]
  if not v1 or not v2 then
    local found = redis.call('HMGET', shard_prefix .. shard, field1, field2)
    v1, v2 = v1 or found[1], v2 or found[2]
  end
  if v1 and tonumber(v1) < min_live then v1 = nil end
  if v2 and tonumber(v2) < min_live then v2 = nil end
  return v1, v2
end

-- Split on the first n NULs only: the signature at the end of a unique record may contain NUL bytes.
-- Records written with their decision time (kinds U, D, E) give it as parts.time; every kind then reads
-- as a u (unique) or d (duplicate) record: {'u', count, url, id, signature, title=sketch} or {'d',
-- canonical iid, match, measure, similarity, threshold[, canonical url, canonical id]}. Kinds u, d and D
-- are older records, which stay readable.
local split_counts = {u = 4, d = 5, e = 7, U = 6, D = 6, E = 8}
local function split(rec)
  local kind = string.sub(rec, 1, 1)
  local n = split_counts[kind] or 5
  local parts, pos = {}, 1
  for _ = 1, n do
    local i = string.find(rec, '\0', pos, true)
    if not i then break end
    parts[#parts + 1] = string.sub(rec, pos, i - 1)
    pos = i + 1
  end
  parts[#parts + 1] = string.sub(rec, pos)
  if kind == 'U' or kind == 'D' or kind == 'E' then parts.time = table.remove(parts, 2) end
  if kind == 'U' then parts.title = table.remove(parts, 5) end
  if kind == 'u' or kind == 'U' then parts[1] = 'u' else parts[1] = 'd' end
  return parts
end

-- A unique record: U \0 time \0 count \0 url \0 id \0 title sketch \0 signature .. lead signature.
-- A duplicate record: E \0 time \0 canonical iid \0 match \0 measure \0 similarity \0 threshold \0
-- canonical url \0 canonical id: the canonical article's URL and id are kept so that the duplicate is
-- replayed the same, and still names it, after the canonical's own record has left the window.
-- The time (base-36 Unix milliseconds, 8 bytes) is when the article was first decided, so a replayed
-- decision is the same record, byte for byte.
local function get_record(iid)
  local rec = new_records[iid] or redis.call('HGET', record_key(iid), tostring(iid))
  if rec then return split(rec) end
  return nil
end

local pending_entries = {}  -- shard -> {field, value, field, value, ...}
local function put(shard, field, value)
  entries[shard .. field] = value
  local list = pending_entries[shard]
  if not list then
    list = {}
    pending_entries[shard] = list
  end
  list[#list + 1] = field
  list[#list + 1] = value
end

local function put_record(iid, value)
  new_records[iid] = value
end

-- The canonical article's record as {'u', count, url, id}: from its own record, else (it has left the
-- window) from what a duplicate's record keeps of it; nil when neither knows it.
local function canonical_from(dup)
  local canon = get_record(tonumber(dup[2]))
  if canon then return canon end
  if dup[8] then return {'u', '0', dup[7], dup[8]} end
  return nil
end

local function canonical_of(iid)
  local rec = get_record(iid)
  if rec and rec[1] == 'd' then return tonumber(rec[2]), canonical_from(rec) end
  return iid, rec
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

local function reply(parts) return table.concat(parts, '\0') end

-- url_host in streams/fingerprint.py: lower case, without user, port or a leading 'www.'.
local function url_host(u)
  local host = string.match(u, '^[%w+.-]+://([^/?#]*)')
  if not host then return '' end
  host = string.lower(string.match(host, '([^@]*)$'))
  host = string.match(host, '^([^:]*)')
  if string.sub(host, 1, 4) == 'www.' then host = string.sub(host, 5) end
  return host
end

-- title_agreement in streams/fingerprint.py: the share of the shorter sketch's words in the other.
local function title_agreement(a, b)
  local na, nb = string.len(a) / 4, string.len(b) / 4
  if na == 0 or nb == 0 then return 0 end
  local words, shared = {}, 0
  for i = 1, string.len(a), 4 do words[string.sub(a, i, i + 3)] = true end
  for i = 1, string.len(b), 4 do
    if words[string.sub(b, i, i + 3)] then shared = shared + 1 end
  end
  return shared / math.min(na, nb)
end

local function decide(article_id, url, count, siglead, keys, packed_bands, title)
  -- (The first shard, the id key's, is the name key's: the two are read and written together.)
  local _, url_shard, exact_shard, name_shard, id_raw, url_raw, exact_raw, name_raw =
    struct.unpack('>I4>I4>I4>I4c6c6c6c6', keys)
  local id_field, url_field, exact_field = 'i' .. id_raw, 'u' .. url_raw, 'x' .. exact_raw
  local name_field = 'n' .. name_raw

  -- 1. The same article again (redelivery: the same id, canonical URL and words): the decision it got
  -- the first time.
  local seen, named = lookup_pair(name_shard, id_field, name_field)
  if seen then
    local rec = get_record(tonumber(seen))
    if not rec then return reply({'replay_lost', seen}) end
    if rec[1] == 'u' then return reply({'unique', seen, '1', rec.time or ''}) end
    local canon = canonical_from(rec) or {'u', '0', '', ''}
    return reply({'duplicate', seen, '1', rec[3], rec[4], rec[5], rec[6], canon[4], canon[3], rec.time or ''})
  end
  -- 1b. Its id with other content: an id names one article, so this one is refused (nothing written).
  if named then return reply({'id_conflict', named}) end

  seq = seq + 1
  local iid = seq

  -- The URL and exact entries of a duplicate name the duplicate itself (its record names the canonical
  -- article): an entry is then live for as long as its own number is, like every other entry.
  local function as_duplicate(canon_iid, canon, match, measure, sim, thr)
    put_record(iid, 'E\0' .. decided_at .. '\0' .. canon_iid .. '\0' .. match .. '\0' .. measure .. '\0' .. sim
      .. '\0' .. thr .. '\0' .. canon[3] .. '\0' .. canon[4])
    put(name_shard, id_field, iid)
    put(name_shard, name_field, iid)
    put(url_shard, url_field, iid)
    put(exact_shard, exact_field, iid)
    return reply({'duplicate', tostring(iid), '0', match, measure, sim, thr, canon[4], canon[3], decided_at})
  end

  -- 2. The same page again, or 3. the same words again.
  for _, probe in ipairs({{url_shard, url_field, 'url'}, {exact_shard, exact_field, 'exact'}}) do
    local hit = lookup(probe[1], probe[2])
    if hit then
      local canon_iid, canon = canonical_of(tonumber(hit))
      if canon then return as_duplicate(canon_iid, canon, probe[3], probe[3], '1', '1') end
    end
  end

  -- 4. Near duplicates: LSH candidates, verified on their stored signatures. A band's bucket holds the
  -- articles whose bands fall in it; those with the band's check (and still in the window) are candidates.
  local nbands = string.len(packed_bands) / 8
  local candidates, ncand = {}, 0
  for b = 1, nbands do
    local g, _, check = struct.unpack('>I4I2c2', packed_bands, 8 * b - 7)
    band_buckets[b], band_checks[b] = g, check
    local slots = buckets[g]
    local pos = 1
    while slots do
      local at = string.find(slots, check, pos, true)
      if not at then break end
      if at % SLOT_BYTES == 1 then
        local cid = full_number(struct.unpack('>I4', slots, at + 2))
        if cid >= min_live and not candidates[cid] and ncand < max_candidates then
          candidates[cid] = true
          ncand = ncand + 1
        end
      end
      pos = at + 1
    end
  end

  -- The rule of streams.fingerprint.verify, on the same numbers.
  local nlead = string.len(siglead) - nperm
  local sig_bytes = {string.byte(siglead, 1, nperm)}
  local lead_bytes = {string.byte(siglead, nperm + 1, nperm + nlead)}
  local best_iid, best_rec, best_j, best_measure, best_value, best_thr = nil, nil, -1, nil, nil, nil
  local host = url_host(url)
  for cid, _ in pairs(candidates) do
    local rec = get_record(cid)
    -- Two pages of one host share its template: their match must rest on the headline too, where both
    -- have one (an untitled article has no headline to disagree with: verify in streams/fingerprint.py).
    if rec and rec[1] == 'u' and title ~= '' and (rec.title or '') ~= '' and url_host(rec[3]) == host
        and title_agreement(title, rec.title) < title_t then
      rec = nil
    end
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
    return as_duplicate(best_iid, best_rec, 'near', best_measure, string.format('%.4f', best_value),
      tostring(best_thr))
  end

  -- 5. New: index it. Each band's entry goes in front of its bucket, whose oldest entry is dropped
  -- (counted as evicted if that article is still in the window: the index is past its capacity).
  put_record(iid, 'U\0' .. decided_at .. '\0' .. count .. '\0' .. url .. '\0' .. article_id .. '\0' .. title
    .. '\0' .. siglead)
  put(name_shard, id_field, iid)
  put(name_shard, name_field, iid)
  put(url_shard, url_field, iid)
  put(exact_shard, exact_field, iid)
  local entry_number = iid % 4294967296
  for b = 1, nbands do
    local g = band_buckets[b]
    -- (Read again: another band of this article may just have written to the same bucket.)
    local slots = buckets[g] or EMPTY_BUCKET
    if string.byte(slots, LAST_SLOT) ~= 0 and full_number(struct.unpack('>I4', slots, LAST_SLOT + 2)) >= min_live then
      evicted = evicted + 1
    end
    buckets[g] = struct.pack(WRITE_FORMAT, band_checks[b], entry_number, slots)
    dirty_buckets[g] = true
  end
  return reply({'unique', tostring(iid), '0', decided_at})
end

local replies = {}
for k = 0, narticles - 1 do
  local base = 14 + 7 * k
  replies[k + 1] = decide(ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3]), ARGV[base + 4],
    ARGV[base + 5], ARGV[base + 6], ARGV[base + 7])
end

-- The batch's writes, one HSET per key.
local function hset_all(key, pairs_list)
  for first = 1, #pairs_list, 2 * MAX_ARGS do
    redis.call('HSET', key, unpack(pairs_list, first, math.min(first + 2 * MAX_ARGS - 1, #pairs_list)))
  end
end
for _, group in ipairs(groups) do
  local key, n, fields = group[1], group[2], group[3]
  local list = {}
  for i = 1, #fields do
    if dirty_buckets[n + i] then
      list[#list + 1] = fields[i]
      list[#list + 1] = buckets[n + i]
    end
  end
  if #list > 0 then hset_all(key, list) end
end
local by_key = {}
for iid, value in pairs(new_records) do
  local key = record_key(iid)
  if not by_key[key] then by_key[key] = {} end
  local list = by_key[key]
  list[#list + 1] = tostring(iid)
  list[#list + 1] = value
end
for shard, list in pairs(pending_entries) do hset_all(shard_prefix .. shard, list) end
for key, list in pairs(by_key) do hset_all(key, list) end
if seq ~= reserved then redis.call('SET', seq_key, seq) end
if evicted > 0 then redis.call('HINCRBY', meta_key, 'evicted', evicted) end
return replies
