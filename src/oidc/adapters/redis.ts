import type { Redis } from 'ioredis';
import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import type { AccountGrantRecord, AccountRecord } from './account-state.ts';

/*
 * Key layout (model names are CamelCase, index namespaces lowercase, so they never collide):
 *   ${prefix}${model}:${id}              the payload as a JSON string, with the record's own TTL
 *   ${prefix}grant:${grantId}            SET of record keys (any model) issued under that grant
 *   ${prefix}account:${accountId}        SET of record keys (any model) whose payload has that accountId
 *   ${prefix}userCode:${model}:${code}   record id, same TTL as the record (DeviceCode)
 *   ${prefix}uid:${model}:${uid}         record id, same TTL as the record (Session)
 *   ${prefix}sessions                    ZSET of Session ids scored by expiry (ms), for counting
 * Both SETs live as long as their longest-lived member (see ADD_TO_INDEX). An upsert that changes
 * a record's grantId or accountId leaves the old SET entry behind, so readers of a SET re-check
 * the payload where it matters (the REVOKE_* scripts, findAccountSessionsRedis and friends).
 *
 * Multi-key writes go through MULTI on one `Redis` connection (standalone or Sentinel); a Cluster
 * would need hash tags to keep a grant's keys in one slot, and ADD_TO_INDEX and the REVOKE_* scripts
 * touch keys they read from a SET rather than receive in KEYS, which a Cluster forbids.
 * Scripts run through plain EVAL rather than defineCommand, which would need an augmentation of
 * ioredis' typings; the scripts are a few hundred bytes and Redis caches them compiled by SHA.
 */

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
const CONSUME = `
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local consumed = cjson.decode(stored).consumed
if consumed ~= nil and consumed ~= cjson.null and consumed ~= false then return -1 end
local separator = ','
if stored == '{}' then separator = '' end
redis.call('SET', KEYS[1], string.sub(stored, 1, -2) .. separator .. '"consumed":' .. ARGV[1] .. '}', 'KEEPTTL')
return 1
`;

/**
 * Adds a record key (ARGV[1]) to an index set (KEYS[1]: a grant or an account set) and stretches
 * the set's TTL to its longest-lived member, so the index expires with the last of its records
 * instead of lingering. ARGV[2] = 0: the member never expires, so neither does the set.
 * EXPIRE ... GT (Redis 7) never shortens the TTL and leaves a set without expiry alone.
 *
 * A busy account's set is stretched on every token and never expires, so it would collect the
 * keys of every record it ever held. Each add therefore checks a few random other members and
 * drops those whose record is gone (expired): with 3 checks per add, dead members settle at about
 * a third of the set. This runs after SADD so the set can never empty (and lose its TTL) here,
 * and skips ARGV[1], whose record the surrounding MULTI writes only after this script.
 */
const ADD_TO_INDEX = `
local fresh = redis.call('EXISTS', KEYS[1]) == 0
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl == 0 then
  redis.call('PERSIST', KEYS[1])
elseif fresh then
  redis.call('EXPIRE', KEYS[1], ttl)
else
  redis.call('EXPIRE', KEYS[1], ttl, 'GT')
end
if not fresh then
  for _, member in ipairs(redis.call('SRANDMEMBER', KEYS[1], 3)) do
    if member ~= ARGV[1] and redis.call('EXISTS', member) == 0 then redis.call('SREM', KEYS[1], member) end
  end
end
return 1
`;

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
const REVOKE_ACCOUNT = `${REVOKE_FUNCTIONS}
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
`;

/**
 * Revokes one Grant of the account (ARGV[3] = grant id) and everything under it, atomically.
 * KEYS[1] is the Grant record. Returns 1 when the Grant record existed and named the account
 * (and is now gone with its records), else 0 and nothing changes.
 */
const REVOKE_GRANT = `${REVOKE_FUNCTIONS}
if revokeGrant(ARGV[3], true) then return 1 end
return 0
`;

/**
 * Ends one Session of the account (KEYS[1], id ARGV[3]) and revokes every Grant it authorized
 * (the grantIds of its authorizations) with everything under them, atomically. Returns 1 when the
 * Session existed and named the account, else 0 and nothing changes. An authorized Grant whose
 * record names another account is left alone.
 */
const REVOKE_SESSION = `${REVOKE_FUNCTIONS}
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
`;

const sessionsKey = (prefix: string): string => `${prefix}sessions`;

/** Signed-in sessions not yet expired nor ended; expired entries are dropped from the index on the way. */
export async function countActiveSessionsRedis(redis: Redis, prefix: string): Promise<number> {
  const [, [, count]] = (await redis.multi().zremrangebyscore(sessionsKey(prefix), '-inf', Date.now()).zcard(sessionsKey(prefix)).exec()) as [[unknown, number], [unknown, number]];
  return count;
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

class RedisAdapter implements Adapter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #model: string;

  constructor(redis: Redis, prefix: string, model: string) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#model = model;
  }

  #key(id: string): string {
    return `${this.#prefix}${this.#model}:${id}`;
  }

  #userCodeKey(userCode: string): string {
    return `${this.#prefix}userCode:${this.#model}:${userCode}`;
  }

  #uidKey(uid: string): string {
    return `${this.#prefix}uid:${this.#model}:${uid}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.#key(id);
    // Everything in one MULTI: a token must never exist without its grant and account index
    // entries, or revokeByGrantId / revokeAccountStateRedis would miss it.
    const multi = this.#redis.multi();
    const set = (target: string, value: string): void => {
      if (expiresIn === undefined) multi.set(target, value);
      else multi.set(target, value, 'EX', expiresIn);
    };
    if (payload.grantId) multi.eval(ADD_TO_INDEX, 1, grantKey(this.#prefix, payload.grantId), key, expiresIn ?? 0);
    if (payload.accountId) multi.eval(ADD_TO_INDEX, 1, accountKey(this.#prefix, payload.accountId), key, expiresIn ?? 0);
    if (payload.userCode) set(this.#userCodeKey(payload.userCode), id);
    if (payload.uid) set(this.#uidKey(payload.uid), id);
    // Signed-in sessions by expiry, so counting them needs no scan (countActiveSessionsRedis). A
    // session without an account (a visitor, or after logout) does not count.
    if (this.#model === 'Session') {
      if (payload.accountId) multi.zadd(sessionsKey(this.#prefix), expiresIn === undefined ? '+inf' : Date.now() + expiresIn * 1000, id);
      else multi.zrem(sessionsKey(this.#prefix), id);
    }
    set(key, JSON.stringify(payload));
    await exec(multi);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const stored = await this.#redis.get(this.#key(id));
    // Redis never returns a key past its TTL, even before it is evicted.
    return stored === null ? undefined : (JSON.parse(stored) as AdapterPayload);
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
    const id = await this.#redis.get(pointerKey);
    return id === null ? undefined : this.find(id);
  }

  async consume(id: string): Promise<void> {
    const result = await this.#redis.eval(CONSUME, 1, this.#key(id), epochSeconds());
    if (result === 0) throw new errors.InvalidGrant(`${this.#model} not found or expired`);
    if (result !== 1) throw new errors.InvalidGrant(`${this.#model} already consumed`);
  }

  async destroy(id: string): Promise<void> {
    const key = this.#key(id);
    const payload = await this.find(id);
    const multi = this.#redis.multi().del(key);
    // Drop the record's index entries too, so an index without TTL cannot outlive its record.
    if (payload?.grantId) multi.srem(grantKey(this.#prefix, payload.grantId), key);
    if (payload?.accountId) multi.srem(accountKey(this.#prefix, payload.accountId), key);
    if (payload?.userCode) multi.del(this.#userCodeKey(payload.userCode));
    if (payload?.uid) multi.del(this.#uidKey(payload.uid));
    if (this.#model === 'Session') multi.zrem(sessionsKey(this.#prefix), id);
    await exec(multi);
  }

  /**
   * oidc-provider calls this on one model's adapter yet expects every token of the grant gone,
   * so the set holds record keys of all models. SREM (not DEL) of the set: a member added after
   * SMEMBERS stays indexed for the next revoke; an emptied set is removed by Redis itself.
   */
  async revokeByGrantId(grantId: string): Promise<void> {
    const setKey = grantKey(this.#prefix, grantId);
    const keys = await this.#redis.smembers(setKey);
    if (keys.length === 0) return;
    await exec(this.#redis.multi().del(...keys).srem(setKey, ...keys));
  }
}

/** ioredis resolves a failed MULTI with per-command errors rather than rejecting; surface them. */
async function exec(multi: ReturnType<Redis['multi']>): Promise<void> {
  const results = await multi.exec();
  if (results === null) throw new Error('Redis transaction aborted');
  const failure = results.find(([error]) => error !== null);
  if (failure) throw failure[0];
}

export function createRedisAdapterFactory(redis: Redis, keyPrefix: string): AdapterFactory {
  return (model: string) => new RedisAdapter(redis, keyPrefix, model);
}

/**
 * Ends everything one account holds (sessions, grants, codes, tokens, and the tokens issued under
 * its grants even when they carry no accountId) in one atomic EVAL; see REVOKE_ACCOUNT.
 * Returns how many records it deleted; records that already expired are simply not counted.
 * A record written after the EVAL survives it: a request of the account already in flight can
 * still save the Session or Grant it loaded before (see the note in sql.ts).
 */
export async function revokeAccountStateRedis(redis: Redis, prefix: string, accountId: string): Promise<number> {
  if (!accountId) throw new TypeError('accountId must be a non-empty string');
  const removed = await redis.eval(REVOKE_ACCOUNT, 1, accountKey(prefix, accountId), prefix, accountId);
  if (typeof removed !== 'number') throw new Error(`unexpected reply from account revocation script: ${String(removed)}`);
  return removed;
}

/**
 * The records of one model (Session or Grant) that the account set lists and that still exist
 * and still name the account, in two round trips (SMEMBERS, MGET) however many there are.
 */
async function findAccountRecords(redis: Redis, prefix: string, accountId: string, model: 'Session' | 'Grant'): Promise<AccountRecord[]> {
  if (!accountId) throw new TypeError('accountId must be a non-empty string');
  const modelPrefix = `${prefix}${model}:`;
  const keys = (await redis.smembers(accountKey(prefix, accountId))).filter((key) => key.startsWith(modelPrefix));
  if (keys.length === 0) return [];
  const stored = await redis.mget(...keys);
  const records: AccountRecord[] = [];
  keys.forEach((key, index) => {
    const payload = parsePayload(stored[index]);
    // Missing: expired or destroyed since it was indexed. Another account: re-upserted since.
    if (payload?.accountId === accountId) records.push({ id: key.slice(modelPrefix.length), payload });
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
export function findAccountSessionsRedis(redis: Redis, prefix: string, accountId: string): Promise<AccountRecord[]> {
  return findAccountRecords(redis, prefix, accountId, 'Session');
}

/** Token models whose newest `iat` under a grant tells when the grant was last used. */
const USAGE_MODELS = ['AccessToken', 'RefreshToken'] as const;

/**
 * The account's live Grant records (unordered), each with the newest `iat` of the live access and
 * refresh tokens its grant set lists (null: none). Four round trips in all: SMEMBERS and MGET of
 * the account set, one pipeline of every grant set's SMEMBERS, one MGET of their tokens.
 */
export async function findAccountGrantsRedis(redis: Redis, prefix: string, accountId: string): Promise<AccountGrantRecord[]> {
  const grants = await findAccountRecords(redis, prefix, accountId, 'Grant');
  if (grants.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const grant of grants) pipeline.smembers(grantKey(prefix, grant.id));
  const sets = (await pipeline.exec()) ?? [];
  const usagePrefixes = USAGE_MODELS.map((model) => `${prefix}${model}:`);
  const tokenKeys: string[] = [];
  const owners: string[] = [];
  grants.forEach((grant, index) => {
    const [error, members] = sets[index] ?? [new Error('missing pipeline reply'), null];
    if (error) throw error;
    for (const key of members as string[]) {
      if (!usagePrefixes.some((usagePrefix) => key.startsWith(usagePrefix))) continue;
      tokenKeys.push(key);
      owners.push(grant.id);
    }
  });
  const lastUsed = new Map<string, number>();
  const tokens = tokenKeys.length === 0 ? [] : await redis.mget(...tokenKeys);
  tokens.forEach((stored, index) => {
    const payload = parsePayload(stored);
    const grantId = owners[index];
    // A token re-upserted under another grant leaves a stale entry in this set.
    if (!payload || grantId === undefined || payload.grantId !== grantId || typeof payload.iat !== 'number') return;
    lastUsed.set(grantId, Math.max(lastUsed.get(grantId) ?? -Infinity, payload.iat));
  });
  return grants.map((grant) => ({ ...grant, lastUsedIat: lastUsed.get(grant.id) ?? null }));
}

async function revokeOne(redis: Redis, script: string, recordKey: string, prefix: string, accountId: string, id: string): Promise<boolean> {
  if (!accountId) throw new TypeError('accountId must be a non-empty string');
  if (!id) return false;
  const result = await redis.eval(script, 1, recordKey, prefix, accountId, id);
  if (result !== 0 && result !== 1) throw new Error(`unexpected reply from revocation script: ${String(result)}`);
  return result === 1;
}

/**
 * Revokes one Grant of the account and every record under it, in one atomic EVAL (REVOKE_GRANT,
 * the same removal REVOKE_ACCOUNT does per grant, so pointers and index entries go too).
 * False when there is no such live Grant or it names another account; nothing changes then.
 */
export function revokeAccountGrantRedis(redis: Redis, prefix: string, accountId: string, grantId: string): Promise<boolean> {
  return revokeOne(redis, REVOKE_GRANT, `${prefix}Grant:${grantId}`, prefix, accountId, grantId);
}

/**
 * Ends one Session of the account (with its uid pointer) and revokes every Grant it authorized
 * with every record under them, in one atomic EVAL (REVOKE_SESSION). False when there is no such
 * live Session or it names another account; nothing changes then.
 */
export function revokeAccountSessionRedis(redis: Redis, prefix: string, accountId: string, sessionId: string): Promise<boolean> {
  return revokeOne(redis, REVOKE_SESSION, `${prefix}Session:${sessionId}`, prefix, accountId, sessionId);
}
