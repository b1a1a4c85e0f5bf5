import type { RedisClient } from '../../db/redis-connect.ts';
import type { AdapterPayload } from 'oidc-provider';
import { updateSessionsValidAfter } from '../../accounts/repository.ts';
import type { Database } from '../../db/database.ts';
import type { ProviderStateFile } from '../../db/state-sqlite.ts';
import {
  countActiveSessionsRedis,
  findAccountGrantsRedis,
  findAccountSessionsRedis,
  revokeAccountGrantRedis,
  revokeAccountSessionRedis,
  revokeAccountStateRedis,
  findAccountGrantRecordsRedis,
} from './redis.ts';
import {
  countActiveSessionsSql,
  findAccountGrantsSql,
  findAccountSessionsSql,
  revokeAccountGrantSql,
  revokeAccountSessionSql,
  revokeAccountStateSql,
  findAccountGrantRecordsSql,
} from './sql.ts';
import {
  countActiveSessionsSqlite,
  findAccountGrantsSqlite,
  findAccountSessionsSqlite,
  revokeAccountGrantSqlite,
  revokeAccountSessionSqlite,
  revokeAccountStateSqlite,
  findAccountGrantRecordsSqlite,
} from './sqlite.ts';

/**
 * Ends every session and revokes every grant and token of one account (password reset, disabled
 * user); resolves to how many records it removed.
 */
export type RevokeAccountState = (accountId: string) => Promise<number>;

/** One oidc-provider Session of an account, as an admin sees it. */
export interface AccountSession {
  /** The Session record's id (its jti, the session cookie value): what revokeSession takes. */
  id: string;
  /** The session's uid (what oidc-provider's `sid` claims and logout flows refer to). */
  uid: string;
  /** When the account last authenticated in this session (payload.loginTs). */
  loginAt: Date | null;
  createdAt: Date | null;
  expiresAt: Date | null;
  /** Client ids the session has authorized, sorted. */
  clients: string[];
  amr: string[] | null;
}

/** One oidc-provider Grant of an account, as an admin sees it. */
export interface AccountGrant {
  id: string;
  clientId: string;
  /** The granted OpenID scopes (openid.scope minus the rejected ones, as oidc-provider reads them). */
  scopes: string[];
  /** Resource indicator → granted scopes (minus the rejected ones). */
  resources: Record<string, string[]>;
  createdAt: Date | null;
  /** Newest issue time of a live access or refresh token under the grant, else createdAt. */
  lastUsedAt: Date | null;
  expiresAt: Date | null;
}

/** A session about to end: the `sid` each client signed in through it was given (oidc-provider's session.sidFor). */
export interface EndingSession {
  uid: string;
  /** Client id → that client's sid for this session. */
  sids: Record<string, string>;
}

/**
 * Told of an account's sessions just before they are deleted, on every way they end here
 * (console, admin API, CLI, password reset and change, disabling, deleting): back-channel logout
 * (src/events/backchannel-logout.ts). A failure stops the deletion: nothing ends unannounced.
 */
export type SessionsEnding = (accountId: string, sessions: EndingSession[]) => Promise<void>;

/** What an admin can see and end of one account's provider state, without scanning the store. */
export interface AccountStateStore {
  /** Live sessions of every account (for statistics), without a scan. */
  countActiveSessions(): Promise<number>;
  /** The account's live sessions, newest (createdAt) first. */
  listSessions(accountId: string): Promise<AccountSession[]>;
  /** The account's live grants, newest (createdAt) first. */
  listGrants(accountId: string): Promise<AccountGrant[]>;
  /**
   * Deletes that Session (only if it belongs to the account) and every grant it authorized (its
   * authorizations' grantIds) with their tokens; false when not found.
   */
  revokeSession(accountId: string, sessionId: string): Promise<boolean>;
  /** Deletes the Grant (only if it belongs to the account) and every record under it; false when not found. */
  revokeGrant(accountId: string, grantId: string): Promise<boolean>;
  /** Ends everything the account holds; see RevokeAccountState. */
  revokeAll(accountId: string): Promise<number>;
  /**
   * The live records (tokens, codes, JWT access token records) issued under one live Grant of the
   * account, as model and id; none when the Grant is not the account's. For changing what a grant
   * holds without revoking it (src/connected-apps).
   */
  listGrantRecords(accountId: string, grantId: string): Promise<Array<{ model: string; id: string }>>;
}

/** A stored record of the account as the backends hand it over; the store maps it. */
export interface AccountRecord {
  id: string;
  payload: AdapterPayload;
}

export interface AccountGrantRecord extends AccountRecord {
  /** Newest `iat` (epoch seconds) of the live access and refresh tokens under the grant, if any. */
  lastUsedIat: number | null;
}

interface Backend {
  findSessions(accountId: string): Promise<AccountRecord[]>;
  findGrants(accountId: string): Promise<AccountGrantRecord[]>;
  revokeSession(accountId: string, sessionId: string): Promise<boolean>;
  revokeGrant(accountId: string, grantId: string): Promise<boolean>;
  revokeAll(accountId: string): Promise<number>;
  findGrantRecords(accountId: string, grantId: string): Promise<Array<{ model: string; id: string }>>;
  countActiveSessions(): Promise<number>;
}

function redisBackend(redis: RedisClient, prefix: string): Backend {
  return {
    findSessions: (accountId) => findAccountSessionsRedis(redis, prefix, accountId),
    findGrants: (accountId) => findAccountGrantsRedis(redis, prefix, accountId),
    revokeSession: (accountId, sessionId) => revokeAccountSessionRedis(redis, prefix, accountId, sessionId),
    revokeGrant: (accountId, grantId) => revokeAccountGrantRedis(redis, prefix, accountId, grantId),
    revokeAll: (accountId) => revokeAccountStateRedis(redis, prefix, accountId),
    findGrantRecords: (accountId, grantId) => findAccountGrantRecordsRedis(redis, prefix, accountId, grantId),
    countActiveSessions: () => countActiveSessionsRedis(redis, prefix),
  };
}

function sqlBackend(db: Database): Backend {
  return {
    findSessions: (accountId) => findAccountSessionsSql(db, accountId),
    findGrants: (accountId) => findAccountGrantsSql(db, accountId),
    revokeSession: (accountId, sessionId) => revokeAccountSessionSql(db, accountId, sessionId),
    revokeGrant: (accountId, grantId) => revokeAccountGrantSql(db, accountId, grantId),
    revokeAll: (accountId) => revokeAccountStateSql(db, accountId),
    findGrantRecords: (accountId, grantId) => findAccountGrantRecordsSql(db, accountId, grantId),
    countActiveSessions: () => countActiveSessionsSql(db),
  };
}

function sqliteBackend(file: ProviderStateFile): Backend {
  return {
    findSessions: (accountId) => findAccountSessionsSqlite(file, accountId),
    findGrants: (accountId) => findAccountGrantsSqlite(file, accountId),
    revokeSession: (accountId, sessionId) => revokeAccountSessionSqlite(file, accountId, sessionId),
    revokeGrant: (accountId, grantId) => revokeAccountGrantSqlite(file, accountId, grantId),
    revokeAll: (accountId) => revokeAccountStateSqlite(file, accountId),
    findGrantRecords: (accountId, grantId) => findAccountGrantRecordsSqlite(file, accountId, grantId),
    countActiveSessions: () => countActiveSessionsSqlite(file),
  };
}

/** Epoch seconds → Date; anything else (missing, not a finite number) → null. */
function fromEpoch(value: unknown): Date | null {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value * 1000) : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function words(value: unknown): string[] {
  return typeof value === 'string' ? value.split(' ').filter((word) => word !== '') : [];
}

/** `granted` minus `rejected`, except the words in `keep` (oidc-provider never rejects `openid`). */
function without(granted: string[], rejected: string[], keep: ReadonlySet<string> = new Set()): string[] {
  const dropped = new Set(rejected.filter((word) => !keep.has(word)));
  return [...new Set(granted)].filter((word) => !dropped.has(word));
}

const KEEP_OPENID: ReadonlySet<string> = new Set(['openid']);

function toSession({ id, payload }: AccountRecord): AccountSession {
  const authorizations = isObject(payload.authorizations) ? payload.authorizations : {};
  const amr = Array.isArray(payload.amr) ? payload.amr.filter((value): value is string => typeof value === 'string') : null;
  return {
    id,
    uid: typeof payload.uid === 'string' ? payload.uid : '',
    loginAt: fromEpoch(payload.loginTs),
    createdAt: fromEpoch(payload.iat),
    expiresAt: fromEpoch(payload.exp),
    // Sorted: PostgreSQL's jsonb does not keep key order, Redis' JSON text does.
    clients: Object.keys(authorizations).sort(),
    amr,
  };
}

function toEnding({ payload }: AccountRecord): EndingSession {
  const authorizations = isObject(payload.authorizations) ? payload.authorizations : {};
  const sids: Record<string, string> = {};
  for (const [clientId, authorization] of Object.entries(authorizations)) {
    if (isObject(authorization) && typeof authorization.sid === 'string') sids[clientId] = authorization.sid;
  }
  return { uid: typeof payload.uid === 'string' ? payload.uid : '', sids };
}

function toGrant({ id, payload, lastUsedIat }: AccountGrantRecord): AccountGrant {
  const record = payload as Record<string, unknown>;
  const openid = isObject(record.openid) ? record.openid : {};
  const rejected = isObject(record.rejected) ? record.rejected : {};
  const rejectedOpenid = isObject(rejected.openid) ? rejected.openid : {};
  const rejectedResources = isObject(rejected.resources) ? rejected.resources : {};
  const resources: Record<string, string[]> = {};
  if (isObject(record.resources)) {
    for (const [indicator, scope] of Object.entries(record.resources)) {
      const granted = without(words(scope), words(rejectedResources[indicator]));
      if (granted.length > 0) resources[indicator] = granted;
    }
  }
  const createdAt = fromEpoch(payload.iat);
  return {
    id,
    clientId: typeof payload.clientId === 'string' ? payload.clientId : '',
    scopes: without(words(openid.scope), words(rejectedOpenid.scope), KEEP_OPENID),
    resources,
    createdAt,
    lastUsedAt: fromEpoch(lastUsedIat) ?? createdAt,
    expiresAt: fromEpoch(payload.exp),
  };
}

/** Newest createdAt first, undated last, then by id so equal times list in a stable order. */
function newestFirst(a: { id: string; createdAt: Date | null }, b: { id: string; createdAt: Date | null }): number {
  const byTime = (b.createdAt?.getTime() ?? -Infinity) - (a.createdAt?.getTime() ?? -Infinity);
  if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Where the provider state lives, as the adapter factory was given it. */
export interface AccountStateOptions {
  redis: RedisClient | null;
  /** The Redis key prefix of the adapter factory. */
  prefix: string;
  /** The database: the SQL table when neither Redis nor a state file is given; sessions_valid_after always. */
  db: Database;
  /** The embedded mode's SQLite file (src/db/state-sqlite.ts), when there is no Redis. */
  sqlite?: ProviderStateFile | null;
}

/**
 * Reads and ends one account's state where the provider state lives: Redis when the app has a
 * Redis connection (with the same key prefix as the adapter factory), else the SQLite state
 * file when there is one, else the SQL table. Each goes through its per-account index (the Redis
 * account set, the account_id column), never a scan.
 * Every method throws a TypeError for an empty accountId; an empty session or grant id is simply
 * not found.
 */
export function createAccountStateStore(options: AccountStateOptions & { sessionsEnding?: SessionsEnding }): AccountStateStore {
  const { redis, prefix, db, sqlite, sessionsEnding } = options;
  const backend = redis ? redisBackend(redis, prefix) : sqlite ? sqliteBackend(sqlite) : sqlBackend(db);
  // Before the deletion, not after: a process that stops between the two has then announced a
  // logout that did not happen (the relying party signs the person out a little early, and the
  // session still ends with the next attempt), never ended a session that nobody hears of.
  const announce = async (accountId: string, records: AccountRecord[]) => {
    if (sessionsEnding && records.length) await sessionsEnding(accountId, records.map(toEnding));
  };
  return {
    async listSessions(accountId) {
      return (await backend.findSessions(accountId)).map(toSession).sort(newestFirst);
    },
    async listGrants(accountId) {
      return (await backend.findGrants(accountId)).map(toGrant).sort(newestFirst);
    },
    async revokeSession(accountId, sessionId) {
      if (sessionsEnding) await announce(accountId, (await backend.findSessions(accountId)).filter((record) => record.id === sessionId));
      return backend.revokeSession(accountId, sessionId);
    },
    revokeGrant: (accountId, grantId) => backend.revokeGrant(accountId, grantId),
    async revokeAll(accountId) {
      // First the line in the sand, then the deletion: whatever an in-flight request writes back
      // after either is already refused (src/oidc/find-account.ts).
      await updateSessionsValidAfter(db, accountId, Date.now());
      if (sessionsEnding) await announce(accountId, await backend.findSessions(accountId));
      return backend.revokeAll(accountId);
    },
    countActiveSessions: () => backend.countActiveSessions(),
    listGrantRecords: (accountId, grantId) => backend.findGrantRecords(accountId, grantId),
  };
}

/** Revokes where the provider state lives (as createAccountStateStore chooses); its revokeAll. */
export function createAccountStateRevoker(options: AccountStateOptions): RevokeAccountState {
  const store = createAccountStateStore(options);
  return (accountId) => store.revokeAll(accountId);
}
