import type { ChainableCommander } from 'ioredis';
import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import type { AccountGrantRecord, AccountRecord } from './account-state.ts';
import { LRUCache } from 'lru-cache';
import type { RedisClient } from '../../db/redis-connect.ts';
import type { RecordCache } from '../../db/redis-record-cache.ts';
import { defineScripts, luaScript, queueScript, runScript, type LuaScript } from '../../db/redis-scripts.ts';
import type { Logger } from '../../log.ts';

/*
 * Two key layouts; layoutOf() picks one from the client and the key prefix.
 *
 * ATOMIC: one `Redis` connection (standalone, or the master a Sentinel names), or a Cluster whose
 * key prefix holds a hash tag (e.g. `{idp}:`), which puts every key in one slot, so on one shard.
 * Model names are CamelCase, index namespaces lowercase, so they never collide:
 *   ${prefix}${model}:${id}              the payload as a JSON string, with the record's own TTL
 *   ${prefix}grant:${grantId}            SET of record keys (any model) issued under that grant
 *   ${prefix}account:${accountId}        SET of record keys (any model) whose payload has that accountId
 *   ${prefix}userCode:${model}:${code}   record id, same TTL as the record (DeviceCode)
 *   ${prefix}uid:${model}:${uid}         record id, same TTL as the record (Session)
 *   ${prefix}sessions                    ZSET of Session ids scored by expiry (ms), for counting
 * Both SETs live as long as their longest-lived member (see UPSERT_INDEXED). An upsert that changes
 * a record's grantId or accountId leaves the old SET entry behind, so readers of a SET re-check
 * the payload where it matters (the REVOKE_* scripts, findAccountSessionsRedis and friends).
 * Multi-key writes go through a script or MULTI, and PRUNE_INDEX and the REVOKE_* scripts touch keys they
 * read from a SET rather than receive in KEYS: both need every key on one server (and, on a
 * Cluster, in one slot, which the tagged prefix gives). Every write is atomic: an upsert with its
 * index entries, a revocation of a whole account, grant or session.
 *
 * SHARDED: a Cluster with a plain prefix, so keys spread over all slots and shards. Every command
 * and every script touches one slot; hash tags (the {…} part, which alone picks the slot) put
 * together the only keys a script needs together, a Grant record and its grant index:
 *   ${prefix}${model}:{${id}}            the payload, with the record's own TTL
 *   ${prefix}grant:{${grantId}}          ZSET of record keys issued under that grant, scored by
 *                                        expiry (epoch ms, +inf: none); the slot of Grant:{${grantId}}
 *   ${prefix}account:{${accountId}}      ZSET of record keys whose payload has that accountId, likewise
 *   ${prefix}userCode:${model}:{${code}} record id, same TTL as the record (DeviceCode)
 *   ${prefix}uid:${model}:{${uid}}       record id, same TTL as the record (Session)
 *   ${prefix}sessions                    ZSET of Session ids scored by expiry (ms), as above
 * The indexes are ZSETs here so that pruning expired members (SHARDED_INDEX_ADD) needs no look at
 * the members' records, which live in other slots; each index expires with its longest-lived
 * member. Records are looked up by their id alone, so a record cannot share its grant's slot;
 * what spans records therefore runs key by key, ordered so that nothing escapes an index:
 *  - upsert writes the index entries and pointers first, the record last; destroy and the
 *    revocations delete the record first (SHARDED_REMOVE), its index entries and pointers after.
 *    A record therefore never exists without its index entries, and a revocation reaches every
 *    record written before it started.
 * What still holds on a sharded Cluster:
 *  - consume is the same single-key CAS script: of concurrent consumes exactly one wins;
 *  - every per-record decision is atomic: "delete it if it names this account" is one script on
 *    the record, and a Grant's ownership check, its deletion and the snapshot of its index are one
 *    script on the grant's slot (SHARDED_DETACH_GRANT), so of two concurrent revocations of one
 *    grant or session exactly one reports it revoked, and a record re-upserted for another account
 *    between the index read and its deletion is left alone;
 *  - lookups, expiry, and the results of revokeByGrantId and the account revocations once they
 *    return are the same as in the atomic layout (the shared contract suite runs on both).
 * What becomes best effort:
 *  - a revocation is no longer all-or-nothing: it deletes record by record (in parallel), so while
 *    it runs a reader may still find some records of the grant or account, and if the process or a
 *    shard fails midway it stops partway. Records it did not delete stay indexed, so running it
 *    again finishes the job;
 *  - an upsert takes two steps; failing between them leaves index entries or pointers to a record
 *    that does not exist (or an older version of it), which readers already re-check and pruning
 *    drops. An upsert racing a revocation can land after it and survive, as a record written
 *    after the atomic EVAL does; it stays indexed for the next revocation.
 *
 * Scripts go by their SHA1 (EVALSHA, src/db/redis-scripts.ts): the text only when Redis answers NOSCRIPT.
 */

type Layout = 'atomic' | 'sharded';

/** Redis' own rule: the first `{`, then the first `}` after it; the text between them, if any, is the tag. */
function hashTag(key: string): string | null {
  const open = key.indexOf('{');
  if (open < 0) return null;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : null;
}

/**
 * Atomic unless the client is a Cluster and the prefix lets keys spread over slots. A prefix with
 * a `{` but no complete tag would leak into the tags of the sharded layout (a Grant record and
 * its index would land in different slots), so it is refused on a Cluster.
 */
function layoutOf(redis: RedisClient, prefix: string): Layout {
  if (!redis.isCluster || hashTag(prefix) !== null) return 'atomic';
  if (prefix.includes('{')) throw new Error(`Redis key prefix "${prefix}" has an unclosed "{": on a Redis Cluster use a complete hash tag ({idp}:) or none`);
  return 'sharded';
}

function grantKey(prefix: string, grantId: string): string {
  return `${prefix}grant:${grantId}`;
}

function accountKey(prefix: string, accountId: string): string {
  return `${prefix}account:${accountId}`;
}

/**
 * Marks a record consumed exactly once. A Lua script runs atomically on the server, so two
 * concurrent consumes of one code cannot both see it unconsumed.
 * cjson only decodes here: re-encoding would turn [] into {} and round numbers to 14 digits, so
 * the field is appended to the stored text instead (JSON.parse keeps the last duplicate key).
 * KEEPTTL keeps the record's expiry. Returns 1 consumed, 0 missing or expired, -1 already consumed.
 */
const CONSUME = luaScript('Consume', 1, `
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local consumed = cjson.decode(stored).consumed
if consumed ~= nil and consumed ~= cjson.null and consumed ~= false then return -1 end
local separator = ','
if stored == '{}' then separator = '' end
redis.call('SET', KEYS[1], string.sub(stored, 1, -2) .. separator .. '"consumed":' .. ARGV[1] .. '}', 'KEEPTTL')
return 1
`);

/**
 * Writes a record (KEYS[1] = ARGV[1], expiring in ARGV[2] seconds; 0: never) together with its
 * entries in its index sets (KEYS[2..]: its grant set and account set), atomically and in one
 * round trip. Each set's TTL is stretched to its longest-lived member, so an index expires with
 * the last of its records instead of lingering; a member that never expires makes its set
 * persist. EXPIRE ... GT (Redis 7) never shortens a TTL and leaves a set without expiry alone.
 * Dropping the members whose record is gone is PRUNE_INDEX's job, off the request's path.
 */
const UPSERT_INDEXED = luaScript('UpsertIndexed', null, `
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  local fresh = redis.call('EXISTS', KEYS[i]) == 0
  redis.call('SADD', KEYS[i], KEYS[1])
  if ttl == 0 then
    redis.call('PERSIST', KEYS[i])
  elseif fresh then
    redis.call('EXPIRE', KEYS[i], ttl)
  else
    redis.call('EXPIRE', KEYS[i], ttl, 'GT')
  end
end
if ttl == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
end
return 1
`);

/**
 * A pointer (KEYS[1]: uid or user code to record id) and the record it names, in one round trip,
 * as [id, record] (record false when it is gone), or false without the pointer:
 * oidc-provider looks a session up by its uid on every request that carries a session-bound
 * token (introspection, userinfo, refresh). ARGV[1] is the record key less the id (prefix and
 * model). The record key is built here, so this runs only where one node holds every key (the
 * atomic layout); the sharded layout follows the pointer in two reads.
 */
const FOLLOW_POINTER = luaScript('FollowPointer', 1, `
local id = redis.call('GET', KEYS[1])
if not id then return false end
return { id, redis.call('GET', ARGV[1] .. id) }
`);

/**
 * A busy account's set is stretched on every token and never expires, so it would collect the
 * keys of every record it ever held. This checks ARGV[1] random members of an index set (KEYS[1])
 * and drops those whose record is gone (expired), when the set has at least ARGV[2] members
 * (smaller ones are harmless and expire with their records). Every member was added in the same
 * script as its record, so a missing record is a dead one. Returns how many it dropped.
 * PruneSchedule runs it once per PRUNE_EVERY adds to a set, checking PRUNE_SAMPLE members: three
 * checks per add on average, so dead members settle at about a third of a large set.
 */
const PRUNE_INDEX = luaScript('PruneIndex', 1, `
if redis.call('SCARD', KEYS[1]) < tonumber(ARGV[2]) then return 0 end
local removed = 0
for _, member in ipairs(redis.call('SRANDMEMBER', KEYS[1], tonumber(ARGV[1]))) do
  if redis.call('EXISTS', member) == 0 then removed = removed + redis.call('SREM', KEYS[1], member) end
end
return removed
`);

const PRUNE_EVERY = 16;
const PRUNE_SAMPLE = 3 * PRUNE_EVERY;
const PRUNE_MIN_MEMBERS = 64;

/**
 * Counts adds per index set in this process and prunes a set (PRUNE_INDEX) after every
 * PRUNE_EVERY of them, without making the request that triggered it wait. A failed prune is
 * logged and costs nothing else: the set keeps a few dead members until the next one. The counts
 * are per process and bounded (least recently used sets forgotten first); several instances
 * each prune after their own adds, which keeps the same rate overall.
 */
class PruneSchedule {
  readonly #counts = new LRUCache<string, number>({ max: 10_000 });
  readonly #redis: RedisClient;
  readonly #onError: (error: unknown, key: string) => void;

  constructor(redis: RedisClient, onError: (error: unknown, key: string) => void) {
    this.#redis = redis;
    this.#onError = onError;
  }

  added(key: string): void {
    const count = (this.#counts.get(key) ?? 0) + 1;
    if (count < PRUNE_EVERY) {
      this.#counts.set(key, count);
      return;
    }
    this.#counts.set(key, 0);
    runScript(this.#redis, PRUNE_INDEX, key, PRUNE_SAMPLE, PRUNE_MIN_MEMBERS).catch((error: unknown) => this.#onError(error, key));
  }
}

/**
 * Lua shared by the revocation scripts. ARGV[1] = prefix, ARGV[2] = the account revoked.
 * remove(key, checkAccount) deletes one record with its uid/userCode pointers (when they still
 * point at it) and its entries in its grant set and account set; returns nil: no such record
 * (expired), false: it names another account (only with checkAccount), true: deleted.
 * revokeGrant(grantId, mustExist) removes the Grant record (when it names the account), every
 * record in its grant set and the set; a Grant record of another account leaves all of it alone
 * (false). A Grant whose record already expired still has its set revoked (a Grant's id is never
 * reused for another account) unless mustExist, and returns nil.
 * \`removed\` counts deleted records; index sets and pointers don't count.
 */
const REVOKE_FUNCTIONS = `
local prefix = ARGV[1]
local accountId = ARGV[2]
local removed = 0

local function remove(key, checkAccount)
  local stored = redis.call('GET', key)
  if not stored then return nil end
  local ok, payload = pcall(cjson.decode, stored)
  if not ok or type(payload) ~= 'table' then payload = {} end
  if checkAccount and payload.accountId ~= accountId then return false end
  removed = removed + redis.call('DEL', key)
  local rest = string.sub(key, #prefix + 1)
  local colon = string.find(rest, ':', 1, true)
  if colon then
    local model = string.sub(rest, 1, colon - 1)
    local id = string.sub(rest, colon + 1)
    for _, field in ipairs({ 'uid', 'userCode' }) do
      local value = payload[field]
      if type(value) == 'string' and value ~= '' then
        local pointer = prefix .. field .. ':' .. model .. ':' .. value
        if redis.call('GET', pointer) == id then redis.call('DEL', pointer) end
      end
    end
  end
  if type(payload.grantId) == 'string' and payload.grantId ~= '' then
    redis.call('SREM', prefix .. 'grant:' .. payload.grantId, key)
  end
  if type(payload.accountId) == 'string' and payload.accountId ~= '' then
    redis.call('SREM', prefix .. 'account:' .. payload.accountId, key)
  end
  if colon and string.sub(rest, 1, colon - 1) == 'Session' then
    redis.call('ZREM', prefix .. 'sessions', string.sub(rest, colon + 1))
  end
  return true
end

local function revokeGrant(grantId, mustExist)
  local result = remove(prefix .. 'Grant:' .. grantId, true)
  if result == false or (result == nil and mustExist) then return result end
  local grantSet = prefix .. 'grant:' .. grantId
  for _, member in ipairs(redis.call('SMEMBERS', grantSet)) do remove(member, false) end
  redis.call('DEL', grantSet)
  return result
end
`;

/**
 * Deletes everything one account holds, atomically: every record in the account set (KEYS[1])
 * whose payload still names the account (ARGV[2]), and for every Grant among them, every record
 * in that grant's set and the set itself, then the account set. Prefix = ARGV[1].
 * A member whose record now names another account (or none) was re-upserted since it was
 * indexed, and is left alone. Returns how many records were deleted (see REVOKE_FUNCTIONS).
 */
const REVOKE_ACCOUNT = luaScript('RevokeAccount', 1, `${REVOKE_FUNCTIONS}
local grantPrefix = prefix .. 'Grant:'
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if string.sub(key, 1, #grantPrefix) == grantPrefix then
    revokeGrant(string.sub(key, #grantPrefix + 1), false)
  else
    remove(key, true)
  end
end
redis.call('DEL', KEYS[1])
return removed
`);

/**
 * Revokes one Grant of the account (ARGV[3] = grant id) and everything under it, atomically.
 * KEYS[1] is the Grant record. Returns 1 when the Grant record existed and named the account
 * (and is now gone with its records), else 0 and nothing changes.
 */
const REVOKE_GRANT = luaScript('RevokeGrant', 1, `${REVOKE_FUNCTIONS}
if revokeGrant(ARGV[3], true) then return 1 end
return 0
`);

/**
 * Ends one Session of the account (KEYS[1], id ARGV[3]) and revokes every Grant it authorized
 * (the grantIds of its authorizations) with everything under them, atomically. Returns 1 when the
 * Session existed and named the account, else 0 and nothing changes. An authorized Grant whose
 * record names another account is left alone.
 */
const REVOKE_SESSION = luaScript('RevokeSession', 1, `${REVOKE_FUNCTIONS}
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local ok, payload = pcall(cjson.decode, stored)
if not ok or type(payload) ~= 'table' or payload.accountId ~= accountId then return 0 end
local grantIds = {}
if type(payload.authorizations) == 'table' then
  for _, authorization in pairs(payload.authorizations) do
    if type(authorization) == 'table' and type(authorization.grantId) == 'string' and authorization.grantId ~= '' then
      table.insert(grantIds, authorization.grantId)
    end
  end
end
remove(KEYS[1], true)
for _, grantId in ipairs(grantIds) do revokeGrant(grantId, false) end
return 1
`);

/**
 * SHARDED layout, one slot per script. Adds a record key (ARGV[1]) to an index ZSET (KEYS[1]: a
 * grant or an account index) scored by the record's expiry, ARGV[2] seconds from now (0: never),
 * after dropping the members that expired more than ARGV[3] ms ago, and makes the index expire
 * ARGV[3] ms after its longest-lived member (never, while one has no expiry). Time is the server's
 * (TIME); the margin covers the clock skew between this shard and the record's, and the moment
 * between this script and the write of the record. Unlike PRUNE_INDEX it never looks at another
 * key: a pruned member is one whose own score says it expired, never a record still to be written.
 */
const SHARDED_INDEX_ADD = luaScript('ShardedIndexAdd', 1, `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local grace = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%.0f', now - grace))
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl * 1000), ARGV[1])
else
  redis.call('ZADD', KEYS[1], '+inf', ARGV[1])
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] == 'inf' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', tonumber(last[2]) - now + grace))
end
return 1
`);

/**
 * SHARDED layout. Deletes one record (KEYS[1]) when it exists and, if ARGV[1] is not empty, names
 * that account; returns the stored text when it deleted it (the caller then drops its index
 * entries and pointers), nil when there is no such record, 0 when it names another account.
 */
const SHARDED_REMOVE = luaScript('ShardedRemove', 1, `
local stored = redis.call('GET', KEYS[1])
if not stored then return false end
if ARGV[1] ~= '' then
  local ok, payload = pcall(cjson.decode, stored)
  if not ok or type(payload) ~= 'table' or payload.accountId ~= ARGV[1] then return 0 end
end
redis.call('DEL', KEYS[1])
return stored
`);

/** SHARDED layout. Deletes a pointer (KEYS[1]) only while it still points at that record id (ARGV[1]). */
const SHARDED_DELETE_POINTER = luaScript('ShardedDeletePointer', 1, `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * SHARDED layout. The atomic head of a grant revocation, on the grant's slot: KEYS[1] is the Grant
 * record, KEYS[2] its grant index (both tagged with the grant id). ARGV[1] = the account revoked,
 * ARGV[2] = '1' when the Grant record must exist. Returns { 'other' } and changes nothing when the
 * Grant names another account; { 'missing' } when it is gone and must exist; otherwise deletes it
 * and returns { 'deleted' or 'missing', its stored text or '', every member of the index }, which
 * the caller removes one by one (the index keeps the members it could not remove).
 */
const SHARDED_DETACH_GRANT = luaScript('ShardedDetachGrant', 2, `
local stored = redis.call('GET', KEYS[1])
local status = 'missing'
if stored then
  local ok, payload = pcall(cjson.decode, stored)
  if not ok or type(payload) ~= 'table' or payload.accountId ~= ARGV[1] then return { 'other' } end
  redis.call('DEL', KEYS[1])
  status = 'deleted'
elseif ARGV[2] == '1' then
  return { 'missing' }
else
  stored = ''
end
local result = { status, stored }
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do table.insert(result, member) end
return result
`);

/** How long (ms) a sharded index keeps a member past its expiry: see SHARDED_INDEX_ADD. */
const INDEX_GRACE_MS = 60_000;

const sessionsKey = (prefix: string): string => `${prefix}sessions`;

/** Key names of the two layouts (see the comment at the top). */
interface Keys {
  record(model: string, id: string): string;
  grant(grantId: string): string;
  account(accountId: string): string;
  pointer(field: 'uid' | 'userCode', model: string, value: string): string;
}

function keysOf(layout: Layout, prefix: string): Keys {
  if (layout === 'atomic') {
    return {
      record: (model, id) => `${prefix}${model}:${id}`,
      grant: (grantId) => grantKey(prefix, grantId),
      account: (accountId) => accountKey(prefix, accountId),
      pointer: (field, model, value) => `${prefix}${field}:${model}:${value}`,
    };
  }
  return {
    record: (model, id) => `${prefix}${model}:{${id}}`,
    grant: (grantId) => `${prefix}grant:{${grantId}}`,
    account: (accountId) => `${prefix}account:{${accountId}}`,
    pointer: (field, model, value) => `${prefix}${field}:${model}:{${value}}`,
  };
}

/** A sharded record key back to its model and id; null for anything else. */
function parseShardedRecordKey(prefix: string, key: string): { model: string; id: string } | null {
  if (!key.startsWith(prefix)) return null;
  const match = /^([^:{}]+):\{(.*)\}$/s.exec(key.slice(prefix.length));
  return match ? { model: match[1] ?? '', id: match[2] ?? '' } : null;
}

/** Signed-in sessions not yet expired nor ended; expired entries are dropped from the index on the way. */
export async function countActiveSessionsRedis(redis: RedisClient, prefix: string): Promise<number> {
  // One key, so this MULTI is fine on a Cluster too.
  const [, [, count]] = (await redis.multi().zremrangebyscore(sessionsKey(prefix), '-inf', Date.now()).zcard(sessionsKey(prefix)).exec()) as [[unknown, number], [unknown, number]];
  return count;
}

/**
 * Models whose records are read far more often than written, served from the record cache
 * (src/db/redis-record-cache.ts) when there is one: a token is introspected or used at userinfo
 * many times, its session and grant looked up with it, an interaction read several times per
 * step, a session's device record on every /auth it answers. Not the ones whose find decides a
 * one-time use (codes, refresh tokens, device and CIBA requests, PAR, replay detection): there
 * the read must see another instance's consume at once.
 */
const CACHED_MODELS = new Set(['AccessToken', 'ClientCredentials', 'Session', 'Grant', 'Interaction', 'SessionDevice']);

/** The record cache of each client that has one, for the revocations that take only the client. */
const recordCaches = new WeakMap<RedisClient, RecordCache>();

/** A write whose keys are not known here (a script that deletes what it finds): the cache forgets all. */
function aroundAll<T>(redis: RedisClient, write: () => Promise<T>): Promise<T> {
  const cache = recordCaches.get(redis);
  return cache ? cache.around(null, write) : write();
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

class RedisAdapter implements Adapter {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #model: string;
  readonly #layout: Layout;
  readonly #keys: Keys;
  readonly #prune: PruneSchedule;
  /** The client's record cache (atomic layout only), for any write that may touch cached keys. */
  readonly #cache: RecordCache | null;
  /** The same, when this model's reads are served from it. */
  readonly #reads: RecordCache | null;

  constructor(redis: RedisClient, prefix: string, model: string, layout: Layout, prune: PruneSchedule, cache: RecordCache | null) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#model = model;
    this.#layout = layout;
    this.#keys = keysOf(layout, prefix);
    this.#prune = prune;
    this.#cache = cache;
    this.#reads = cache && CACHED_MODELS.has(model) ? cache : null;
  }

  /** Runs a write of these keys so the cache never serves what it replaced. */
  #writing<T>(keys: readonly string[], write: () => Promise<T>): Promise<T> {
    return this.#reads ? this.#reads.around(keys, write) : write();
  }

  async #getPayload(key: string): Promise<AdapterPayload | undefined> {
    if (this.#reads) return ((await this.#reads.getParsed(key)) ?? undefined) as AdapterPayload | undefined;
    const stored = await this.#redis.get(key);
    return stored === null ? undefined : (JSON.parse(stored) as AdapterPayload);
  }

  #key(id: string): string {
    return this.#keys.record(this.#model, id);
  }

  #userCodeKey(userCode: string): string {
    return this.#keys.pointer('userCode', this.#model, userCode);
  }

  #uidKey(uid: string): string {
    return this.#keys.pointer('uid', this.#model, uid);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (this.#layout === 'sharded') return this.#upsertSharded(id, payload, expiresIn);
    if (!this.#reads) return this.#upsertAtomic(id, payload, expiresIn);
    const keys = [this.#key(id)];
    if (payload.userCode) keys.push(this.#userCodeKey(payload.userCode));
    if (payload.uid) keys.push(this.#uidKey(payload.uid));
    return this.#writing(keys, () => this.#upsertAtomic(id, payload, expiresIn));
  }

  async #upsertAtomic(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.#key(id);
    // Nothing to index (a client-credentials token, for one): the record alone, one command.
    if (!payload.grantId && !payload.accountId && !payload.userCode && !payload.uid && this.#model !== 'Session') {
      const value = JSON.stringify(payload);
      await (expiresIn === undefined ? this.#redis.set(key, value) : this.#redis.set(key, value, 'EX', expiresIn));
      return;
    }
    // The record and its index entries in one script: a token must never exist without its grant
    // and account index entries, or revokeByGrantId / revokeAccountStateRedis would miss it.
    const indexes: string[] = [];
    if (payload.grantId) indexes.push(grantKey(this.#prefix, payload.grantId));
    if (payload.accountId) indexes.push(accountKey(this.#prefix, payload.accountId));
    const upsert = [1 + indexes.length, key, ...indexes, JSON.stringify(payload), expiresIn ?? 0];
    if (!payload.userCode && !payload.uid && this.#model !== 'Session') {
      await runScript(this.#redis, UPSERT_INDEXED, ...upsert);
    } else {
      // Pointers and the session count join it in one MULTI, so the whole upsert stays atomic.
      const multi = this.#redis.multi();
      const set = (target: string, value: string): void => {
        if (expiresIn === undefined) multi.set(target, value);
        else multi.set(target, value, 'EX', expiresIn);
      };
      if (payload.userCode) set(this.#userCodeKey(payload.userCode), id);
      if (payload.uid) set(this.#uidKey(payload.uid), id);
      // Signed-in sessions by expiry, so counting them needs no scan (countActiveSessionsRedis). A
      // session without an account (a visitor, or after logout) does not count.
      if (this.#model === 'Session') {
        if (payload.accountId) multi.zadd(sessionsKey(this.#prefix), expiresIn === undefined ? '+inf' : Date.now() + expiresIn * 1000, id);
        else multi.zrem(sessionsKey(this.#prefix), id);
      }
      queueScript(multi, UPSERT_INDEXED, ...upsert);
      await exec(multi);
    }
    for (const index of indexes) this.#prune.added(index);
  }

  /**
   * The same writes, one slot each: the index entries, pointers and session entry first (in
   * parallel), the record once they all succeeded, so the record never exists unindexed.
   */
  async #upsertSharded(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const redis = this.#redis;
    const key = this.#key(id);
    const set = (target: string, value: string): Promise<unknown> =>
      expiresIn === undefined ? redis.set(target, value) : redis.set(target, value, 'EX', expiresIn);
    const first: Promise<unknown>[] = [];
    if (payload.grantId) first.push(runScript(redis, SHARDED_INDEX_ADD, this.#keys.grant(payload.grantId), key, expiresIn ?? 0, INDEX_GRACE_MS));
    if (payload.accountId) first.push(runScript(redis, SHARDED_INDEX_ADD, this.#keys.account(payload.accountId), key, expiresIn ?? 0, INDEX_GRACE_MS));
    if (payload.userCode) first.push(set(this.#userCodeKey(payload.userCode), id));
    if (payload.uid) first.push(set(this.#uidKey(payload.uid), id));
    if (this.#model === 'Session') {
      if (payload.accountId) first.push(redis.zadd(sessionsKey(this.#prefix), expiresIn === undefined ? '+inf' : Date.now() + expiresIn * 1000, id));
      else first.push(redis.zrem(sessionsKey(this.#prefix), id));
    }
    await Promise.all(first);
    await set(key, JSON.stringify(payload));
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    // Redis never returns a key past its TTL, even before it is evicted.
    return this.#getPayload(this.#key(id));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const payload = await this.#findByPointer(this.#userCodeKey(userCode));
    return payload?.userCode === userCode ? payload : undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const payload = await this.#findByPointer(this.#uidKey(uid));
    return payload?.uid === uid ? payload : undefined;
  }

  /** The pointer can outlive an overwrite of its record, so callers re-check the indexed field. */
  async #findByPointer(pointerKey: string): Promise<AdapterPayload | undefined> {
    if (this.#layout === 'sharded') {
      const id = await this.#redis.get(pointerKey);
      return id === null ? undefined : this.find(id);
    }
    const follow = async (redis: RedisClient): Promise<{ id: string | null; stored: string | null }> => {
      const reply = (await runScript(redis, FOLLOW_POINTER, pointerKey, this.#key(''))) as [string, string | null] | null;
      return reply === null ? { id: null, stored: null } : { id: reply[0], stored: reply[1] ?? null };
    };
    if (!this.#reads) {
      const { stored } = await follow(this.#redis);
      return stored === null ? undefined : (JSON.parse(stored) as AdapterPayload);
    }
    // Cached, the pointer and the record are two entries: a hit on both costs no round trip.
    const known = this.#reads.peek(pointerKey);
    if (known === null) return undefined;
    if (known !== undefined) return this.find(known);
    // Neither known: both in one script on the reader. Redis tracks the pointer (the script's
    // KEYS) but not the record, which the script finds by name; so only the pointer is kept
    // from this read, and the record's next read, a plain GET, is tracked and kept.
    let stored: string | null = null;
    await this.#reads.readThrough(pointerKey, async (reader) => {
      const found = await follow(reader);
      stored = found.stored;
      return found.id;
    });
    return stored === null ? undefined : (JSON.parse(stored) as AdapterPayload);
  }

  /** One key in either layout, so the CAS is atomic on a Cluster too. */
  async consume(id: string): Promise<void> {
    const key = this.#key(id);
    const result = await this.#writing([key], () => runScript(this.#redis, CONSUME, key, epochSeconds()));
    if (result === 0) throw new errors.InvalidGrant(`${this.#model} not found or expired`);
    if (result !== 1) throw new errors.InvalidGrant(`${this.#model} already consumed`);
  }

  async destroy(id: string): Promise<void> {
    const key = this.#key(id);
    if (this.#layout === 'sharded') {
      // The record first, its index entries and pointers after.
      await removeSharded(this.#redis, this.#prefix, key, '');
      return;
    }
    const payload = await this.find(id);
    const multi = this.#redis.multi().del(key);
    const deleted = [key];
    // Drop the record's index entries too, so an index without TTL cannot outlive its record.
    if (payload?.grantId) multi.srem(grantKey(this.#prefix, payload.grantId), key);
    if (payload?.accountId) multi.srem(accountKey(this.#prefix, payload.accountId), key);
    if (payload?.userCode) deleted.push(this.#userCodeKey(payload.userCode));
    if (payload?.uid) deleted.push(this.#uidKey(payload.uid));
    for (const pointer of deleted.slice(1)) multi.del(pointer);
    if (this.#model === 'Session') multi.zrem(sessionsKey(this.#prefix), id);
    await this.#writing(deleted, () => exec(multi));
  }

  /**
   * oidc-provider calls this on one model's adapter yet expects every token of the grant gone,
   * so the set holds record keys of all models. SREM (not DEL) of the set: a member added after
   * SMEMBERS stays indexed for the next revoke; an emptied set is removed by Redis itself. On a
   * sharded Cluster the same key by key, keeping the members it found no record for (see
   * removeIndexMembers).
   */
  async revokeByGrantId(grantId: string): Promise<void> {
    if (this.#layout === 'sharded') {
      const indexKey = this.#keys.grant(grantId);
      await removeIndexMembers(this.#redis, this.#prefix, indexKey, await this.#redis.zrange(indexKey, 0, '-1'));
      return;
    }
    const setKey = grantKey(this.#prefix, grantId);
    const keys = await this.#redis.smembers(setKey);
    if (keys.length === 0) return;
    // Records of every model: the cache forgets them whichever model this adapter is for.
    const revoke = () => exec(this.#redis.multi().del(...keys).srem(setKey, ...keys));
    await (this.#cache ? this.#cache.around(keys, revoke) : revoke());
  }
}

/** ioredis resolves a failed MULTI with per-command errors rather than rejecting; surface them. */
async function exec(multi: ChainableCommander): Promise<void> {
  const results = await multi.exec();
  if (results === null) throw new Error('Redis transaction aborted');
  const failure = results.find(([error]) => error !== null);
  if (failure) throw failure[0];
}

/**
 * Provider state in Redis under `keyPrefix`: standalone, Sentinel or Cluster (see the layouts at
 * the top). Throws on a Cluster when the prefix has an unclosed `{`.
 */
export function createRedisAdapterFactory(redis: RedisClient, keyPrefix: string, options: { logger?: Pick<Logger, 'warn'>; cache?: RecordCache | null } = {}): AdapterFactory {
  const layout = layoutOf(redis, keyPrefix);
  // Only where one server holds every key: the cache tracks one server's keys.
  const cache = layout === 'atomic' ? (options.cache ?? null) : null;
  if (cache) recordCaches.set(redis, cache);
  // Before any multi(): a pipeline takes the scripts its client has at that moment.
  defineScripts(redis, ALL_SCRIPTS);
  const prune = new PruneSchedule(redis, (error, key) => options.logger?.warn({ err: error, key }, 'redis index pruning failed; the set keeps its dead members until the next prune'));
  return (model: string) => new RedisAdapter(redis, keyPrefix, model, layout, prune, cache);
}

const ALL_SCRIPTS = [CONSUME, UPSERT_INDEXED, FOLLOW_POINTER, PRUNE_INDEX, REVOKE_ACCOUNT, REVOKE_GRANT, REVOKE_SESSION, SHARDED_INDEX_ADD, SHARDED_REMOVE, SHARDED_DELETE_POINTER, SHARDED_DETACH_GRANT];

type Removal = { outcome: 'removed'; stored: string } | { outcome: 'missing' | 'other' };

/**
 * SHARDED layout: deletes one record (only if it names `accountId`, unless that is empty), then
 * its pointers (while they still point at it), its entries in its grant and account indexes and
 * in the sessions ZSET, and hands back what it deleted. 'missing': no such record; 'other': it
 * names another account, and nothing changed.
 */
async function removeSharded(redis: RedisClient, prefix: string, key: string, accountId: string): Promise<Removal> {
  const stored = await runScript(redis, SHARDED_REMOVE, key, accountId);
  if (stored === null) return { outcome: 'missing' };
  if (stored === 0) return { outcome: 'other' };
  if (typeof stored !== 'string') throw new Error(`unexpected reply from record removal script: ${String(stored)}`);
  const keys = keysOf('sharded', prefix);
  const payload = parsePayload(stored) ?? {};
  const record = parseShardedRecordKey(prefix, key);
  const cleanups: Promise<unknown>[] = [];
  if (record) {
    for (const field of ['uid', 'userCode'] as const) {
      const value = payload[field];
      if (typeof value === 'string' && value !== '') cleanups.push(runScript(redis, SHARDED_DELETE_POINTER, keys.pointer(field, record.model, value), record.id));
    }
    if (record.model === 'Session') cleanups.push(redis.zrem(sessionsKey(prefix), record.id));
  }
  if (typeof payload.grantId === 'string' && payload.grantId !== '') cleanups.push(redis.zrem(keys.grant(payload.grantId), key));
  if (typeof payload.accountId === 'string' && payload.accountId !== '') cleanups.push(redis.zrem(keys.account(payload.accountId), key));
  await Promise.all(cleanups);
  return { outcome: 'removed', stored };
}

/**
 * SHARDED layout: removes every listed member of a grant index (whatever account it names) and
 * drops the removed ones from the index. A member whose record is missing stays: it may be an
 * upsert between its two steps, which the next revocation must still find; an expired one is
 * pruned by its score. Returns how many records it deleted.
 */
async function removeIndexMembers(redis: RedisClient, prefix: string, indexKey: string, members: string[]): Promise<number> {
  if (members.length === 0) return 0;
  const outcomes = await Promise.all(members.map((member) => removeSharded(redis, prefix, member, '')));
  const removed = members.filter((_, index) => outcomes[index]?.outcome === 'removed');
  if (removed.length > 0) await redis.zrem(indexKey, ...removed);
  return removed.length;
}

/**
 * SHARDED layout: revokes one grant the way revokeGrant in REVOKE_FUNCTIONS does. The ownership
 * check, the Grant's deletion and the snapshot of its index are one script; its records follow.
 * `removed` counts the Grant record and the records deleted under it.
 */
async function revokeGrantSharded(redis: RedisClient, prefix: string, accountId: string, grantId: string, mustExist: boolean): Promise<{ status: 'deleted' | 'missing' | 'other'; removed: number }> {
  const keys = keysOf('sharded', prefix);
  const recordKey = keys.record('Grant', grantId);
  const indexKey = keys.grant(grantId);
  const reply = await runScript(redis, SHARDED_DETACH_GRANT, recordKey, indexKey, accountId, mustExist ? '1' : '0');
  if (!Array.isArray(reply) || !reply.every((item) => typeof item === 'string')) throw new Error(`unexpected reply from grant revocation script: ${String(reply)}`);
  const [status, stored = '', ...members] = reply as string[];
  if (status !== 'deleted' && status !== 'missing' && status !== 'other') throw new Error(`unexpected status from grant revocation script: ${String(status)}`);
  if (status === 'other' || (status === 'missing' && mustExist)) return { status, removed: 0 };
  const account = parsePayload(stored)?.accountId;
  const [removed] = await Promise.all([
    removeIndexMembers(redis, prefix, indexKey, members),
    typeof account === 'string' && account !== '' ? redis.zrem(keys.account(account), recordKey) : undefined,
  ]);
  return { status, removed: removed + (status === 'deleted' ? 1 : 0) };
}

/**
 * SHARDED layout: REVOKE_ACCOUNT key by key. The account's Grants first (each with everything
 * under it), then its other records, each deleted only if it still names the account. Index
 * entries of records deleted or naming another account go; those of missing records stay (see
 * removeIndexMembers).
 */
async function revokeAccountStateSharded(redis: RedisClient, prefix: string, accountId: string): Promise<number> {
  const indexKey = keysOf('sharded', prefix).account(accountId);
  const members = await redis.zrange(indexKey, 0, '-1');
  const grants: Array<{ key: string; id: string }> = [];
  const others: string[] = [];
  for (const key of members) {
    const record = parseShardedRecordKey(prefix, key);
    // `Grant:{}` has no tag, so it would not share its index's slot; it is removed like any record.
    if (record?.model === 'Grant' && record.id !== '') grants.push({ key, id: record.id });
    else others.push(key);
  }
  let removed = 0;
  const settled: string[] = [];
  const grantResults = await Promise.all(grants.map(({ id }) => revokeGrantSharded(redis, prefix, accountId, id, false)));
  grantResults.forEach((result, index) => {
    removed += result.removed;
    if (result.status !== 'missing') settled.push(grants[index]?.key ?? '');
  });
  const outcomes = await Promise.all(others.map((key) => removeSharded(redis, prefix, key, accountId)));
  outcomes.forEach(({ outcome }, index) => {
    if (outcome === 'removed') removed += 1;
    if (outcome !== 'missing') settled.push(others[index] ?? '');
  });
  if (settled.length > 0) await redis.zrem(indexKey, ...settled);
  return removed;
}

/**
 * Ends everything one account holds (sessions, grants, codes, tokens, and the tokens issued under
 * its grants even when they carry no accountId): in one atomic EVAL (REVOKE_ACCOUNT) in the atomic
 * layout, key by key on a sharded Cluster (revokeAccountStateSharded).
 * Returns how many records it deleted; records that already expired are simply not counted.
 * A record written after the EVAL survives it: a request of the account already in flight can
 * still save the Session or Grant it loaded before (see the note in sql.ts).
 */
export async function revokeAccountStateRedis(redis: RedisClient, prefix: string, accountId: string): Promise<number> {
  if (!accountId) throw new TypeError('accountId must be a non-empty string');
  if (layoutOf(redis, prefix) === 'sharded') return revokeAccountStateSharded(redis, prefix, accountId);
  const removed = await aroundAll(redis, () => runScript(redis, REVOKE_ACCOUNT, accountKey(prefix, accountId), prefix, accountId));
  if (typeof removed !== 'number') throw new Error(`unexpected reply from account revocation script: ${String(removed)}`);
  return removed;
}

/**
 * Reads records by key: one MGET in the atomic layout; one GET each (sent together) on a sharded
 * Cluster, where the keys lie in different slots and MGET would fail with CROSSSLOT.
 */
async function readAll(redis: RedisClient, layout: Layout, keys: string[]): Promise<Array<string | null>> {
  if (keys.length === 0) return [];
  if (layout === 'atomic') return redis.mget(...keys);
  return Promise.all(keys.map((key) => redis.get(key)));
}

/** The members of an index: a SET in the atomic layout, a ZSET in the sharded one. */
function indexMembers(redis: RedisClient, layout: Layout, key: string): Promise<string[]> {
  return layout === 'atomic' ? redis.smembers(key) : redis.zrange(key, 0, '-1');
}

/** The model and id a record key names in that layout, or null. */
function recordOf(layout: Layout, prefix: string, key: string): { model: string; id: string } | null {
  if (layout === 'sharded') return parseShardedRecordKey(prefix, key);
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  const colon = rest.indexOf(':');
  return colon < 0 ? null : { model: rest.slice(0, colon), id: rest.slice(colon + 1) };
}

/**
 * The records of one model (Session or Grant) that the account index lists and that still exist
 * and still name the account, in two round trips (the index, then the records) however many there are.
 */
async function findAccountRecords(redis: RedisClient, prefix: string, accountId: string, model: 'Session' | 'Grant'): Promise<AccountRecord[]> {
  if (!accountId) throw new TypeError('accountId must be a non-empty string');
  const layout = layoutOf(redis, prefix);
  const ids: string[] = [];
  const keys: string[] = [];
  for (const key of await indexMembers(redis, layout, keysOf(layout, prefix).account(accountId))) {
    const record = recordOf(layout, prefix, key);
    if (record?.model !== model) continue;
    ids.push(record.id);
    keys.push(key);
  }
  const stored = await readAll(redis, layout, keys);
  const records: AccountRecord[] = [];
  keys.forEach((_, index) => {
    const payload = parsePayload(stored[index]);
    const id = ids[index];
    // Missing: expired or destroyed since it was indexed. Another account: re-upserted since.
    if (payload?.accountId === accountId && id !== undefined) records.push({ id, payload });
  });
  return records;
}

function parsePayload(stored: string | null | undefined): AdapterPayload | undefined {
  if (stored === null || stored === undefined) return undefined;
  try {
    const payload: unknown = JSON.parse(stored);
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as AdapterPayload) : undefined;
  } catch {
    return undefined;
  }
}

/** The account's live Session records (unordered). */
export function findAccountSessionsRedis(redis: RedisClient, prefix: string, accountId: string): Promise<AccountRecord[]> {
  return findAccountRecords(redis, prefix, accountId, 'Session');
}

/** Token models whose newest `iat` under a grant tells when the grant was last used. */
const USAGE_MODELS: readonly string[] = ['AccessToken', 'RefreshToken'];

/**
 * The account's live Grant records (unordered), each with the newest `iat` of the live access and
 * refresh tokens its grant index lists (null: none). Four round trips in all: the account index
 * and its records, every grant index (one pipeline in the atomic layout, sent together on a
 * Cluster), their tokens.
 */
export async function findAccountGrantsRedis(redis: RedisClient, prefix: string, accountId: string): Promise<AccountGrantRecord[]> {
  const grants = await findAccountRecords(redis, prefix, accountId, 'Grant');
  if (grants.length === 0) return [];
  const layout = layoutOf(redis, prefix);
  const keys = keysOf(layout, prefix);
  let sets: string[][];
  if (layout === 'atomic') {
    const pipeline = redis.pipeline();
    for (const grant of grants) pipeline.smembers(keys.grant(grant.id));
    const replies = (await pipeline.exec()) ?? [];
    sets = grants.map((_, index) => {
      const [error, members] = replies[index] ?? [new Error('missing pipeline reply'), null];
      if (error) throw error;
      return members as string[];
    });
  } else {
    sets = await Promise.all(grants.map((grant) => indexMembers(redis, layout, keys.grant(grant.id))));
  }
  const tokenKeys: string[] = [];
  const owners: string[] = [];
  grants.forEach((grant, index) => {
    for (const key of sets[index] ?? []) {
      if (!USAGE_MODELS.includes(recordOf(layout, prefix, key)?.model ?? '')) continue;
      tokenKeys.push(key);
      owners.push(grant.id);
    }
  });
  const lastUsed = new Map<string, number>();
  const tokens = await readAll(redis, layout, tokenKeys);
  tokens.forEach((stored, index) => {
    const payload = parsePayload(stored);
    const grantId = owners[index];
    // A token re-upserted under another grant leaves a stale entry in this index.
    if (!payload || grantId === undefined || payload.grantId !== grantId || typeof payload.iat !== 'number') return;
    lastUsed.set(grantId, Math.max(lastUsed.get(grantId) ?? -Infinity, payload.iat));
  });
  return grants.map((grant) => ({ ...grant, lastUsedIat: lastUsed.get(grant.id) ?? null }));
}

async function revokeOne(redis: RedisClient, script: LuaScript, recordKey: string, prefix: string, accountId: string, id: string): Promise<boolean> {
  const result = await runScript(redis, script, recordKey, prefix, accountId, id);
  if (result !== 0 && result !== 1) throw new Error(`unexpected reply from revocation script: ${String(result)}`);
  return result === 1;
}

/**
 * Revokes one Grant of the account and every record under it: in one atomic EVAL (REVOKE_GRANT,
 * the same removal REVOKE_ACCOUNT does per grant, so pointers and index entries go too) in the
 * atomic layout; on a sharded Cluster the check and the Grant's deletion are atomic, its records
 * follow key by key. False when there is no such live Grant or it names another account; nothing
 * changes then.
 */
export async function revokeAccountGrantRedis(redis: RedisClient, prefix: string, accountId: string, grantId: string): Promise<boolean> {
  if (!accountId) throw new TypeError('accountId must be a non-empty string');
  if (!grantId) return false;
  if (layoutOf(redis, prefix) === 'sharded') return (await revokeGrantSharded(redis, prefix, accountId, grantId, true)).status === 'deleted';
  return aroundAll(redis, () => revokeOne(redis, REVOKE_GRANT, `${prefix}Grant:${grantId}`, prefix, accountId, grantId));
}

/**
 * Ends one Session of the account (with its uid pointer) and revokes every Grant it authorized
 * with every record under them: in one atomic EVAL (REVOKE_SESSION) in the atomic layout; on a
 * sharded Cluster the Session's check and deletion are atomic, its grants follow as in
 * revokeAccountGrantRedis. False when there is no such live Session or it names another account;
 * nothing changes then.
 */
export async function revokeAccountSessionRedis(redis: RedisClient, prefix: string, accountId: string, sessionId: string): Promise<boolean> {
  if (!accountId) throw new TypeError('accountId must be a non-empty string');
  if (!sessionId) return false;
  if (layoutOf(redis, prefix) === 'atomic') return aroundAll(redis, () => revokeOne(redis, REVOKE_SESSION, `${prefix}Session:${sessionId}`, prefix, accountId, sessionId));
  const sessionKey = keysOf('sharded', prefix).record('Session', sessionId);
  const removal = await removeSharded(redis, prefix, sessionKey, accountId);
  if (removal.outcome !== 'removed') return false;
  const grantIds = new Set<string>();
  const authorizations = parsePayload(removal.stored)?.authorizations;
  if (typeof authorizations === 'object' && authorizations !== null) {
    for (const authorization of Object.values(authorizations as Record<string, unknown>)) {
      const grantId = (authorization as { grantId?: unknown } | null)?.grantId;
      if (typeof grantId === 'string' && grantId !== '') grantIds.add(grantId);
    }
  }
  await Promise.all([...grantIds].map((grantId) => revokeGrantSharded(redis, prefix, accountId, grantId, false)));
  return true;
}

/**
 * The records issued under one live Grant of the account (what its grant index lists, each
 * re-checked against the record's own grantId), as model and id, unordered; [] when the Grant is
 * missing or names another account. Three round trips: the Grant, its index, the records.
 */
export async function findAccountGrantRecordsRedis(redis: RedisClient, prefix: string, accountId: string, grantId: string): Promise<Array<{ model: string; id: string }>> {
  if (!accountId) throw new TypeError('accountId must be a non-empty string');
  if (!grantId) return [];
  const layout = layoutOf(redis, prefix);
  const keys = keysOf(layout, prefix);
  if (parsePayload(await redis.get(keys.record('Grant', grantId)))?.accountId !== accountId) return [];
  const members = await indexMembers(redis, layout, keys.grant(grantId));
  const stored = await readAll(redis, layout, members);
  const records: Array<{ model: string; id: string }> = [];
  members.forEach((key, index) => {
    const record = recordOf(layout, prefix, key);
    // Missing: expired or destroyed since it was indexed. Another grant: re-upserted since.
    if (record && parsePayload(stored[index])?.grantId === grantId) records.push(record);
  });
  return records;
}
