import type { Redis } from 'ioredis';
import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';

/*
 * Key layout (model names are CamelCase, index namespaces lowercase, so they never collide):
 *   ${prefix}${model}:${id}              the payload as a JSON string, with the record's own TTL
 *   ${prefix}grant:${grantId}            SET of record keys (any model) issued under that grant
 *   ${prefix}account:${accountId}        SET of record keys (any model) whose payload has that accountId
 *   ${prefix}userCode:${model}:${code}   record id, same TTL as the record (DeviceCode)
 *   ${prefix}uid:${model}:${uid}         record id, same TTL as the record (Session)
 * Both SETs live as long as their longest-lived member (see ADD_TO_INDEX). An upsert that changes
 * a record's grantId or accountId leaves the old SET entry behind, so readers of a SET re-check
 * the payload where it matters (REVOKE_ACCOUNT).
 *
 * Multi-key writes go through MULTI on one `Redis` connection (standalone or Sentinel); a Cluster
 * would need hash tags to keep a grant's keys in one slot, and ADD_TO_INDEX and REVOKE_ACCOUNT
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
 * Deletes everything one account holds, atomically: every record in the account set (KEYS[1])
 * whose payload still names the account (ARGV[2]), and for every Grant among them, every record
 * in that grant's set and the set itself, then the account set. Prefix = ARGV[1].
 * A Grant key whose record already expired still has its grant set revoked: a Grant's id is
 * never reused for another account. A member whose record now names another account (or none)
 * was re-upserted since it was indexed, and is left alone.
 * With each record go its uid/userCode pointers (when they still point at it) and its entry in
 * its own grant set. Returns how many records were deleted; index sets and pointers don't count.
 */
const REVOKE_ACCOUNT = `
local prefix = ARGV[1]
local accountId = ARGV[2]
local grantPrefix = prefix .. 'Grant:'
local removed = 0

-- Returns nil: no such record (expired), false: belongs to another account, true: deleted.
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
  return true
end

for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local result = remove(key, true)
  if result ~= false and string.sub(key, 1, #grantPrefix) == grantPrefix then
    local grantSet = prefix .. 'grant:' .. string.sub(key, #grantPrefix + 1)
    for _, member in ipairs(redis.call('SMEMBERS', grantSet)) do remove(member, false) end
    redis.call('DEL', grantSet)
  end
end
redis.call('DEL', KEYS[1])
return removed
`;

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
