import { LRUCache } from 'lru-cache';

/**
 * The tables whose rows the cache holds answers from. A change to any of them drops the whole
 * cache: they change rarely (an operator's command), and a precise dependency map between, say, a
 * role composite and each client's cached access would be easy to get wrong. Migration
 * 0014_config_change_notify.sql puts a notifying trigger on each (a test checks they agree).
 */
export const CONFIG_TABLES = [
  'clients', 'api_resources', 'client_resource_scopes', 'roles', 'permissions',
  'role_permissions', 'role_composites', 'client_roles', 'account_roles',
  // Which webhooks an audit event goes to (src/events/webhooks/outbox.ts; its trigger is in migration 0025).
  'webhooks',
] as const;

const mentionsConfigTable = new RegExp(`\\b(?:${CONFIG_TABLES.join('|')})\\b`, 'i');

/** True when a write statement's text names one of the cached tables. */
export const touchesConfig = (statement: string): boolean => mentionsConfigTable.test(statement);

/*
 * Accounts change far more often than configuration (a profile edit, a password reset, a
 * revocation's sessions_valid_after), so a change to one account forgets only that account's
 * entry: migration 0027 notifies `accounts:<id>` on the same channel, row by row. Effective roles
 * are config entries (account_roles and the role tables are CONFIG_TABLES).
 */
export const ACCOUNT_KEY_PREFIX = 'account:';
const ACCOUNT_NOTICE_PREFIX = 'accounts:';
const mentionsAccounts = /\baccounts\b/i;

/** True when a write statement's text names the accounts table. */
export const touchesAccounts = (statement: string): boolean => mentionsAccounts.test(statement);

/**
 * What one notification on the config channel means for `cache`: `accounts:<id>` forgets that
 * account, anything else (a table name from migration 0014, `accounts` after a TRUNCATE) everything.
 */
export function applyConfigNotice(cache: ConfigCache, payload: string): void {
  if (payload.startsWith(ACCOUNT_NOTICE_PREFIX) && payload.length > ACCOUNT_NOTICE_PREFIX.length) {
    cache.forget(ACCOUNT_KEY_PREFIX + payload.slice(ACCOUNT_NOTICE_PREFIX.length));
  } else {
    cache.invalidate();
  }
}

export type CacheLookup = 'hit' | 'miss' | 'bypass';

export interface ConfigCache {
  /** The remembered answer for key, or load()'s, remembered while nothing changes. */
  get<T>(key: string, load: () => Promise<T>): Promise<T>;
  /** Forgets everything; lookups already running are not remembered either. */
  invalidate(): void;
  /** Forgets one key, likewise. */
  forget(key: string): void;
  /** Forgets every key that starts with prefix, likewise. */
  forgetPrefix(prefix: string): void;
  /**
   * Only while active does the cache remember anything: it is active while the feed of
   * changes from PostgreSQL is live, since a missed notification would leave it stale.
   */
  setActive(active: boolean): void;
  readonly active: boolean;
}

export interface ConfigCacheOptions {
  /** Most keys held; the least recently used go first (client ids come from requests). */
  max?: number;
  /** A bound on staleness should a notification ever be lost without the feed noticing (ms). */
  ttlMs?: number;
  onLookup?: (lookup: CacheLookup) => void;
}

/**
 * Per-instance memory of what a token request reads and rarely changes: client metadata, a
 * client's access to a resource, effective roles, an account's claims. It stores the promise, so concurrent misses for one key
 * share one query, and a failed lookup is forgotten at once (never cached). Keys are namespaced
 * by the caller ("client:<id>", ...).
 */
export function createConfigCache(options: ConfigCacheOptions = {}): ConfigCache {
  const entries = new LRUCache<string, Promise<unknown>>({ max: options.max ?? 10_000, ttl: options.ttlMs ?? 60_000 });
  const record = options.onLookup ?? (() => undefined);
  let active = false;

  return {
    get active() {
      return active;
    },
    get<T>(key: string, load: () => Promise<T>): Promise<T> {
      if (!active) {
        record('bypass');
        return load();
      }
      const known = entries.get(key) as Promise<T> | undefined;
      if (known) {
        record('hit');
        return known;
      }
      record('miss');
      const loading = load();
      entries.set(key, loading);
      loading.catch(() => {
        if (entries.peek(key) === loading) entries.delete(key);
      });
      return loading;
    },
    invalidate() {
      entries.clear();
    },
    forget(key) {
      entries.delete(key);
    },
    forgetPrefix(prefix) {
      // Collected first: deleting while the LRU iterates would skip entries.
      const doomed = [...entries.keys()].filter((key) => key.startsWith(prefix));
      for (const key of doomed) entries.delete(key);
    },
    setActive(next) {
      // Whatever was remembered before the feed went down, or before it came back, may have
      // missed changes: start empty either way.
      entries.clear();
      active = next;
    },
  };
}

/** A cache that never remembers: the embedded database, or CONFIG_CACHE_ENABLED=false. */
export const noConfigCache: ConfigCache = {
  active: false,
  get: (_key, load) => load(),
  invalidate: () => undefined,
  forget: () => undefined,
  forgetPrefix: () => undefined,
  setActive: () => undefined,
};
