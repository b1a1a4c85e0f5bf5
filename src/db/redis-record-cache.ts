import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../log.ts';
import { copyJson } from './copy-json.ts';
import { createRedisClient, parseRedisUrl, type RedisTimeouts } from './redis-connect.ts';

/**
 * Records this process read from Redis, kept in memory until Redis says they changed: Redis'
 * server-assisted client-side caching (CLIENT TRACKING, Redis 6+). A resource server introspects
 * the same token again and again and every token request looks its session up by uid, so most
 * reads of provider state are of records that have not changed since the last read; served from
 * here they cost no round trip.
 *
 * Two connections of their own, to the same server as the main one:
 *  - the reader sends the GETs this cache serves. Its tracking is ON with REDIRECT to the
 *    listener, so Redis remembers every key it read and, the moment any client changes, deletes,
 *    expires or evicts one, tells the listener once. Only these reads are tracked, so Redis'
 *    tracking table holds only keys that are cached here;
 *  - the listener (RESP2, so invalidations come as pub/sub messages on __redis__:invalidate,
 *    which ioredis hands over; as RESP3 pushes it would drop them) forgets each key it is told of,
 *    and everything on a flush.
 *
 * What keeps a stale record from being served:
 *  - a reply is cached only if no invalidation or local write of its key arrived while it was in
 *    flight (an invalidation can overtake the reply: they come on different sockets);
 *  - our own writes go through around(): the keys are forgotten before the write and again after
 *    it, and replies that raced it are not cached, so this process reads its own writes at once;
 *  - if either connection drops, nothing is served or cached until both are back and tracking is
 *    on again (Redis forgets a connection's tracking with it), so no invalidation can be missed;
 *  - entries live at most MAX_AGE_MS, and never past the record's own `exp`, so even a listener
 *    stalled without its socket closing serves nothing older than that, and a record past its TTL
 *    that Redis has not yet deleted is not served. The listener is pinged too (PING_EVERY_MS), and
 *    one that does not answer is reconnected, which clears the cache.
 * Another instance's write reaches this one as fast as Redis can send the invalidation (well
 * under a millisecond on a LAN); in that moment a request here can still read the old record.
 * That is the same window any replica of a record has, and far shorter than the round trip the
 * change itself needed.
 *
 * The cache is off (every read goes to Redis) while the connections are not both ready, when the
 * server refuses CLIENT TRACKING (before Redis 6, or a managed Redis that disables CLIENT), and on a
 * Cluster (the adapter never makes one there).
 */
export interface RecordCache {
  /** The stored text of `key` (null: no such key), from memory when tracked, else one GET. */
  get(key: string): Promise<string | null>;
  /**
   * The stored JSON of `key`, parsed (null: no such key), as get() reads it. A held record is
   * parsed once and each call gets its own copy, which it may change.
   */
  getParsed(key: string): Promise<unknown>;
  /** What is held for `key` (null: known absent), or undefined when it would take a read. */
  peek(key: string): string | null | undefined;
  /**
   * Reads `key` on the reader with `read` (which must read the key itself, as a command's key or
   * a script's KEYS, so that Redis tracks it) and keeps the text it returns for the key.
   */
  readThrough(key: string, read: (reader: Redis) => Promise<string | null>): Promise<string | null>;
  /**
   * Runs a write of `keys` (null: keys not known here, so all of them): none of them is served
   * from memory until it is done, and what it wrote is read from Redis afterwards.
   */
  around<T>(keys: readonly string[] | null, write: () => Promise<T>): Promise<T>;
  /** True while reads are served from memory (both connections up, tracking on). */
  readonly active: boolean;
  readonly stats: { hits: number; misses: number; invalidations: number };
  close(): Promise<void>;
}

export interface RecordCacheOptions {
  /** Most records held; the least recently used go first. */
  maxEntries: number;
  /** Most bytes of record text held, likewise. */
  maxBytes?: number;
  logger?: Pick<Logger, 'warn' | 'info'>;
}

const CHANNEL = '__redis__:invalidate';
/** The longest an entry is served without Redis being asked again; see the list above. */
export const MAX_AGE_MS = 30_000;
const PING_EVERY_MS = 1_000;
const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/**
 * What is held for a key: its text (null: Redis has no value for it, a negative answer is
 * tracked and cached too), its parse once someone asked for it, and when it stops being served.
 * The expiry is checked here rather than by the LRU's own TTL, which costs more per read.
 */
interface Held {
  readonly text: string | null;
  parsed?: unknown;
  readonly until: number;
}

async function runId(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  const id = /run_id:(\w+)/.exec(info)?.[1];
  if (!id) throw new Error('INFO server has no run_id');
  return id;
}

/** When a record's own expiry (`exp`, epoch seconds, as oidc-provider stores it) comes first. */
function expiresBefore(text: string, ttlMs: number): number {
  // The earliest `exp` anywhere in it: a nested one (in stored claims, say) can only shorten it.
  let ms = ttlMs;
  for (const match of text.matchAll(/"exp":(\d+)/g)) ms = Math.min(ms, Number(match[1]) * 1000 - Date.now());
  return ms;
}

class TrackedRecordCache implements RecordCache {
  readonly #reader: Redis;
  readonly #listener: Redis;
  readonly #logger: Pick<Logger, 'warn' | 'info'> | undefined;
  readonly #entries: LRUCache<string, Held>;
  /** Reads in flight by key, each with a ticket: the reply is cached only if its ticket is still there. */
  readonly #pending = new Map<string, number>();
  /** Local writes in flight by key; replies for these keys are not cached. */
  readonly #writing = new Map<string, number>();
  #writingAll = 0;
  #ticket = 0;
  /** Bumped whenever tracking may have lapsed: replies of reads sent before are not cached. */
  #epoch = 0;
  #active = false;
  /** The listener's client id and server, once it is subscribed. */
  #listening: { id: number; server: string } | null = null;
  #warned = false;
  #closed = false;
  readonly #pinger: NodeJS.Timeout;
  readonly stats = { hits: 0, misses: 0, invalidations: 0 };

  constructor(reader: Redis, listener: Redis, options: RecordCacheOptions) {
    this.#reader = reader;
    this.#listener = listener;
    this.#logger = options.logger;
    this.#entries = new LRUCache<string, Held>({
      max: options.maxEntries,
      maxSize: options.maxBytes ?? DEFAULT_MAX_BYTES,
      // The parse, when there is one, is about as large again as the text.
      sizeCalculation: (held, key) => key.length + 2 * (held.text?.length ?? 0) + 64,
    });

    listener.on('messageBuffer', (channel: Buffer, message: Buffer[] | Buffer | null) => {
      if (channel.toString() !== CHANNEL) return;
      if (message === null) {
        // FLUSHDB / FLUSHALL: every key is gone.
        this.#forgetAll();
        return;
      }
      for (const key of Array.isArray(message) ? message : [message]) {
        this.stats.invalidations++;
        this.#forget(key.toString());
      }
    });
    const lapse = () => this.#lapse();
    reader.on('close', lapse);
    listener.on('close', () => {
      this.#listening = null;
      this.#lapse();
    });
    reader.on('ready', () => void this.#track());
    listener.on('ready', () => void this.#listen());
    if (listener.status === 'ready') void this.#listen();

    this.#pinger = setInterval(() => {
      if (this.#listening === null) return;
      // A listener whose socket went silent without closing would miss invalidations; a PING
      // that does not come back within the command timeout has it reconnect (and the cache lapse).
      listener.ping().catch((error: unknown) => {
        if (this.#closed) return;
        this.#logger?.warn({ err: error }, 'redis record cache: the invalidation listener did not answer; reconnecting it');
        this.#listening = null;
        this.#lapse();
        listener.disconnect(true);
      });
    }, PING_EVERY_MS);
    this.#pinger.unref();
  }

  get active(): boolean {
    return this.#active;
  }

  async get(key: string): Promise<string | null> {
    const held = this.peek(key);
    if (held !== undefined) return held;
    return this.readThrough(key, (reader) => reader.get(key));
  }

  async getParsed(key: string): Promise<unknown> {
    const held = this.#held(key);
    if (held === undefined) {
      const text = await this.readThrough(key, (reader) => reader.get(key));
      return text === null ? null : JSON.parse(text);
    }
    if (held.text === null) return null;
    held.parsed ??= JSON.parse(held.text);
    return copyJson(held.parsed);
  }

  peek(key: string): string | null | undefined {
    return this.#held(key)?.text;
  }

  #held(key: string): Held | undefined {
    if (!this.#active) return undefined;
    const held = this.#entries.get(key);
    if (held === undefined) return undefined;
    // An entry is dropped when it is next looked at past its time; no timers per entry.
    if (held.until <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    this.stats.hits++;
    return held;
  }

  async readThrough(key: string, read: (reader: Redis) => Promise<string | null>): Promise<string | null> {
    this.stats.misses++;
    if (!this.#active) return read(this.#reader);
    const ticket = ++this.#ticket;
    const epoch = this.#epoch;
    this.#pending.set(key, ticket);
    let text: string | null;
    try {
      text = await read(this.#reader);
    } catch (error) {
      if (this.#pending.get(key) === ticket) this.#pending.delete(key);
      throw error;
    }
    // Still ours: nothing invalidated or wrote the key meanwhile, and tracking never lapsed. A
    // reply that raced a change is still a right answer for this read, just not one to keep.
    const untouched = this.#pending.get(key) === ticket;
    if (untouched) this.#pending.delete(key);
    if (untouched && epoch === this.#epoch && this.#active && this.#writingAll === 0 && !this.#writing.has(key)) this.#hold(key, text);
    return text;
  }

  #hold(key: string, text: string | null): void {
    const ttl = text === null ? MAX_AGE_MS : expiresBefore(text, MAX_AGE_MS);
    if (ttl > 0) this.#entries.set(key, { text, until: Date.now() + ttl });
  }

  async around<T>(keys: readonly string[] | null, write: () => Promise<T>): Promise<T> {
    this.#begin(keys);
    try {
      return await write();
    } finally {
      this.#end(keys);
    }
  }

  #begin(keys: readonly string[] | null): void {
    if (keys === null) {
      this.#writingAll++;
      this.#forgetAll();
      return;
    }
    for (const key of keys) {
      this.#writing.set(key, (this.#writing.get(key) ?? 0) + 1);
      this.#forget(key);
    }
  }

  #end(keys: readonly string[] | null): void {
    if (keys === null) {
      this.#writingAll--;
      this.#forgetAll();
      return;
    }
    for (const key of keys) {
      const left = (this.#writing.get(key) ?? 1) - 1;
      if (left === 0) this.#writing.delete(key);
      else this.#writing.set(key, left);
      // Anything cached while the write was in flight may predate it.
      this.#forget(key);
    }
  }

  #forget(key: string): void {
    this.#entries.delete(key);
    this.#pending.delete(key);
  }

  #forgetAll(): void {
    this.#entries.clear();
    this.#pending.clear();
  }

  /** Tracking may have lapsed: serve and cache nothing until #track turns it on again. */
  #lapse(): void {
    this.#epoch++;
    if (this.#active) this.#logger?.info('redis record cache paused: a connection closed; reads go to Redis until it is back');
    this.#active = false;
    this.#forgetAll();
  }

  /** The listener (re)connected: learn its id, subscribe, then point the reader's tracking at it. */
  async #listen(): Promise<void> {
    this.#listening = null;
    const epoch = ++this.#epoch;
    try {
      const [id, server] = await Promise.all([this.#listener.client('ID') as Promise<number>, runId(this.#listener)]);
      await this.#listener.subscribe(CHANNEL);
      if (epoch !== this.#epoch) return;
      this.#listening = { id, server };
      await this.#track();
    } catch (error) {
      this.#refused(error);
    }
  }

  async #track(): Promise<void> {
    const listening = this.#listening;
    if (!listening || this.#reader.status !== 'ready' || this.#closed) return;
    const epoch = this.#epoch;
    try {
      // Client ids are per server: after a failover the two could reach different ones, and an
      // id there may belong to someone else.
      if ((await runId(this.#reader)) !== listening.server) throw new Error('the reader and the invalidation listener reached different Redis servers');
      await this.#reader.client('TRACKING', 'ON', 'REDIRECT', String(listening.id));
      if (epoch !== this.#epoch || this.#listening !== listening) return;
      this.#forgetAll();
      this.#active = true;
      this.#warned = false;
    } catch (error) {
      this.#refused(error);
    }
  }

  #refused(error: unknown): void {
    if (this.#closed || this.#warned) return;
    this.#warned = true;
    this.#logger?.warn({ err: error }, 'redis record cache off: every read goes to Redis');
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#pinger);
    // Off first, so the shutdown does not log itself as a lapse.
    this.#active = false;
    this.#lapse();
    await Promise.all([this.#reader, this.#listener].map((client) => client.quit().catch(() => client.disconnect())));
  }
}

/**
 * A cache over its own two connections (reader: an ordinary client; listener: created with
 * `protocol: 2, autoResubscribe: false`, see createRedisClient's `listener` option). Closing it
 * closes both.
 */
export function createRecordCache(reader: Redis, listener: Redis, options: RecordCacheOptions): RecordCache {
  return new TrackedRecordCache(reader, listener, options);
}

/**
 * The cache for REDIS_URL on two new connections, or null when it is off (no entries allowed) or
 * cannot work (a Cluster: tracking is per node). It starts serving once both connect.
 */
export function connectRecordCache(url: string, options: { maxEntries: number; timeouts: RedisTimeouts; logger: Pick<Logger, 'warn' | 'info'> }): RecordCache | null {
  if (options.maxEntries === 0 || parseRedisUrl(url).kind === 'cluster') return null;
  const reader = createRedisClient(url, { timeouts: options.timeouts }) as Redis;
  const listener = createRedisClient(url, { timeouts: options.timeouts, listener: true }) as Redis;
  for (const [client, role] of [[reader, 'reader'], [listener, 'invalidation listener']] as const) {
    client.on('error', (error) => options.logger.warn({ err: error }, `redis record cache ${role} connection error`));
  }
  return createRecordCache(reader, listener, { maxEntries: options.maxEntries, logger: options.logger });
}
