import type { Redis } from 'ioredis';
import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';

/*
 * Key layout (model names are CamelCase, index namespaces lowercase, so they never collide):
 *   ${prefix}${model}:${id}              the payload as a JSON string, with the record's own TTL
 *   ${prefix}grant:${grantId}            SET of record keys (any model) issued under that grant
 *   ${prefix}userCode:${model}:${code}   record id, same TTL as the record (DeviceCode)
 *   ${prefix}uid:${model}:${uid}         record id, same TTL as the record (Session)
 *
 * Multi-key writes go through MULTI on one `Redis` connection (standalone or Sentinel); a Cluster
 * would need hash tags to keep a grant's keys in one slot.
 * Scripts run through plain EVAL rather than defineCommand, which would need an augmentation of
 * ioredis' typings; the scripts are a few hundred bytes and Redis caches them compiled by SHA.
 */

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
 * Adds a record key to its grant set and stretches the set's TTL to its longest-lived member, so
 * the index expires with the last of its records instead of lingering. ARGV[2] = 0: the member
 * never expires, so neither does the set. EXPIRE ... GT (Redis 7) never shortens the TTL and
 * leaves a set without expiry alone.
 */
const INDEX_GRANT = `
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
return 1
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

  #grantKey(grantId: string): string {
    return `${this.#prefix}grant:${grantId}`;
  }

  #userCodeKey(userCode: string): string {
    return `${this.#prefix}userCode:${this.#model}:${userCode}`;
  }

  #uidKey(uid: string): string {
    return `${this.#prefix}uid:${this.#model}:${uid}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.#key(id);
    // Everything in one MULTI: a token must never exist without its grant index entry, or
    // revokeByGrantId would miss it.
    const multi = this.#redis.multi();
    const set = (target: string, value: string): void => {
      if (expiresIn === undefined) multi.set(target, value);
      else multi.set(target, value, 'EX', expiresIn);
    };
    if (payload.grantId) multi.eval(INDEX_GRANT, 1, this.#grantKey(payload.grantId), key, expiresIn ?? 0);
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
    if (payload?.grantId) multi.srem(this.#grantKey(payload.grantId), key);
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
    const grantKey = this.#grantKey(grantId);
    const keys = await this.#redis.smembers(grantKey);
    if (keys.length === 0) return;
    await exec(this.#redis.multi().del(...keys).srem(grantKey, ...keys));
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
