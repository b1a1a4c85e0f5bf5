import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * The Redis client the app uses: one `Redis` connection (standalone, or the master a Sentinel
 * names) or a `Cluster`. Both share ioredis' command API; the provider-state adapter picks its
 * key layout by `isCluster` (see src/oidc/adapters/redis.ts).
 */
export type RedisClient = Redis | Cluster;

/*
 * REDIS_URL forms:
 *
 *   redis://[[username]:password@]host[:port][/db]      standalone (ioredis parses it), and
 *   rediss://…                                          the same over TLS
 *
 *   redis+sentinel://[[username]:password@]host[:port][,host[:port]…]/masterName[?db=N&sentinelUsername=U&sentinelPassword=P]
 *       Sentinel: the hosts are the sentinels (default port 26379); masterName is the name the
 *       sentinels monitor; db (default 0) is the database on the master. username/password
 *       authenticate at the master (and its replicas); the sentinels themselves are reached
 *       without credentials unless sentinelUsername/sentinelPassword say otherwise.
 *
 *   redis+cluster://[[username]:password@]host[:port][,host[:port]…]
 *       Cluster: the hosts are seed nodes (default port 6379; one is enough, more survive a seed
 *       being down); the client discovers the other nodes. No path and no db: a cluster has
 *       only database 0. username/password authenticate at every node.
 *
 * Hosts are names, IPv4 addresses or [IPv6] addresses. Userinfo, masterName and query values
 * are percent-decoded, so a password with ':', '@', '/' or ',' is written %3A, %40, %2F, %2C.
 * Anything else (an unknown query parameter, a missing master name, a bad port) is refused
 * rather than ignored. Neither form supports TLS yet.
 */

export interface RedisNode {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
}

export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | ({ kind: 'sentinel'; sentinels: RedisNode[]; name: string; db: number; sentinelUsername?: string; sentinelPassword?: string } & Credentials)
  | ({ kind: 'cluster'; nodes: RedisNode[] } & Credentials);

/** The forms REDIS_URL accepts, for error messages (never echoes the URL: it may hold a password). */
export const REDIS_URL_FORMS =
  'redis://… or rediss://… (standalone), ' +
  'redis+sentinel://[[user]:password@]host[:26379][,host:port…]/masterName[?db=N&sentinelPassword=…] (Sentinel), ' +
  'or redis+cluster://[[user]:password@]host[:6379][,host:port…] (Cluster)';

export class RedisUrlError extends Error {
  override name = 'RedisUrlError';
}

const MULTI_HOST = /^(redis\+sentinel|redis\+cluster):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/;

function decode(value: string, what: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new RedisUrlError(`bad percent-encoding in the ${what}`);
  }
}

function parseHosts(list: string, defaultPort: number, what: string): RedisNode[] {
  if (list === '') throw new RedisUrlError(`needs at least one ${what} host`);
  // Addresses go by position in messages: a mistyped URL may have put a password among them.
  return list.split(',').map((entry, index) => {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/.exec(entry);
    if (!match) throw new RedisUrlError(`bad ${what} address (#${index + 1}): use host, host:port or [ipv6]:port, separated by commas`);
    const port = match[3] === undefined ? defaultPort : Number(match[3]);
    if (port < 1 || port > 65535) throw new RedisUrlError(`bad port in ${what} address #${index + 1}`);
    return { host: match[1] ?? match[2] ?? '', port };
  });
}

function parseCredentials(userinfo: string | undefined): Credentials {
  if (userinfo === undefined || userinfo === '') return {};
  const colon = userinfo.indexOf(':');
  // "secret@host" is ambiguous (username or password?); the Redis URI form wants ":secret@host".
  if (colon < 0) throw new RedisUrlError('write the credentials as [username]:password@ (":password@" without a username)');
  const username = decode(userinfo.slice(0, colon), 'username');
  const password = decode(userinfo.slice(colon + 1), 'password');
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function parseQuery(query: string | undefined, allowed: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  if (!query) return params;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decode(equals < 0 ? pair : pair.slice(0, equals), 'query');
    const value = decode(equals < 0 ? '' : pair.slice(equals + 1), 'query');
    // A name is echoed only when it cannot be a stray piece of a password.
    const shown = /^\w{1,32}$/.test(name) ? ` "${name}"` : '';
    if (!allowed.includes(name)) {
      throw new RedisUrlError(allowed.length ? `unknown parameter${shown} (known: ${allowed.join(', ')})` : `takes no parameters (got${shown || ' one'})`);
    }
    if (params.has(name)) throw new RedisUrlError(`parameter${shown} given twice`);
    params.set(name, value);
  }
  return params;
}

/** Parses a REDIS_URL (see the forms above); throws a RedisUrlError that never repeats the URL. */
export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\//.test(url)) return { kind: 'standalone', url };
  const match = MULTI_HOST.exec(url);
  if (!match) throw new RedisUrlError(`must be ${REDIS_URL_FORMS}`);
  const [, scheme, userinfo, hostList = '', path = '', query] = match;
  // Only the first '@' ends the credentials; the rest would be echoed as a bad host otherwise.
  if (hostList.includes('@')) throw new RedisUrlError('write an "@" in the credentials as %40');
  const credentials = parseCredentials(userinfo);
  if (scheme === 'redis+cluster') {
    if (path !== '' && path !== '/') throw new RedisUrlError('redis+cluster:// takes no path: a cluster has only database 0');
    parseQuery(query, []);
    return { kind: 'cluster', nodes: parseHosts(hostList, 6379, 'cluster seed'), ...credentials };
  }
  const sentinels = parseHosts(hostList, 26379, 'sentinel');
  const name = decode(path.slice(1), 'master name');
  if (name === '' || name.includes('/')) throw new RedisUrlError('redis+sentinel:// needs the master name as its path: redis+sentinel://host:26379/mymaster');
  const params = parseQuery(query, ['db', 'sentinelUsername', 'sentinelPassword']);
  const db = params.get('db') ?? '0';
  if (!/^\d{1,5}$/.test(db)) throw new RedisUrlError('db must be a database number (0, 1, …)');
  const sentinelUsername = params.get('sentinelUsername');
  const sentinelPassword = params.get('sentinelPassword');
  return {
    kind: 'sentinel', sentinels, name, db: Number(db), ...credentials,
    ...(sentinelUsername ? { sentinelUsername } : {}),
    ...(sentinelPassword ? { sentinelPassword } : {}),
  };
}

/** Why REDIS_URL is unusable, or null when it parses; for the configuration schema. */
export function redisUrlProblem(url: string): string | null {
  try {
    parseRedisUrl(url);
    return null;
  } catch (error) {
    if (error instanceof RedisUrlError) return error.message;
    throw error;
  }
}

/** The Redis deadlines of `config.timeouts`, in milliseconds. */
export interface RedisTimeouts {
  redisConnectMs: number;
  redisCommandMs: number;
}

export interface RedisClientOptions {
  /** Connect on the first command or on connect() rather than at once. */
  lazyConnect?: boolean;
  /** Without them, a Redis that accepts connections and never answers holds every request. */
  timeouts?: RedisTimeouts;
  /**
   * A connection that only listens for invalidations (src/db/redis-record-cache.ts): RESP2, so
   * they arrive as pub/sub messages, and no resubscribing on its own after a reconnect (the cache
   * subscribes, once it has the new connection's id). Not for a Cluster.
   */
  listener?: boolean;
}

// A command waits for at most two reconnection attempts before it fails, so a request does not
// hang while Redis is away (ioredis' default is 20).
const MAX_RETRIES_PER_REQUEST = 2;

// Commands issued in the same event-loop turn (by concurrent requests) go out in one write:
// under load that halves the system calls of an opaque-token grant, one for the HTTP answer and
// a shared one for Redis, at no cost in latency (ioredis flushes on setImmediate).
const AUTO_PIPELINING = { enableAutoPipelining: true } as const;
const LISTENER = { protocol: 2, autoResubscribe: false } as const;

export type RedisClientPlan =
  | { kind: 'standalone'; url: string; options: RedisOptions }
  | { kind: 'sentinel'; options: RedisOptions }
  | { kind: 'cluster'; nodes: RedisNode[]; options: ClusterOptions };

/**
 * ioredis' deadlines: connectTimeout bounds opening the socket; commandTimeout fails a command
 * without a reply ("Command timed out") while the connection stays, so once the server answers
 * again the late replies are matched to those commands and dropped, and the next ones succeed.
 */
function deadlines(timeouts: RedisTimeouts | undefined): Pick<RedisOptions, 'connectTimeout' | 'commandTimeout'> {
  return timeouts ? { connectTimeout: timeouts.redisConnectMs, commandTimeout: timeouts.redisCommandMs } : {};
}

/** What createRedisClient passes to ioredis for that URL (exposed so tests can check it). */
export function redisClientPlan(url: string, options: RedisClientOptions = {}): RedisClientPlan {
  const target = parseRedisUrl(url);
  const lazy = options.lazyConnect === undefined ? {} : { lazyConnect: options.lazyConnect };
  const timed = { ...deadlines(options.timeouts), ...(options.listener ? LISTENER : {}) };
  const auth = (credentials: Credentials) => ({
    ...(credentials.username === undefined ? {} : { username: credentials.username }),
    ...(credentials.password === undefined ? {} : { password: credentials.password }),
  });
  switch (target.kind) {
    case 'standalone':
      return { kind: 'standalone', url: target.url, options: { ...lazy, ...AUTO_PIPELINING, maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST, ...timed } };
    case 'sentinel':
      return {
        kind: 'sentinel',
        options: {
          ...lazy,
          ...AUTO_PIPELINING,
          maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
          ...timed,
          // Asking the sentinels where the master is must not hang either.
          ...(options.timeouts ? { sentinelCommandTimeout: options.timeouts.redisCommandMs } : {}),
          sentinels: target.sentinels,
          name: target.name,
          db: target.db,
          ...auth(target),
          ...(target.sentinelUsername === undefined ? {} : { sentinelUsername: target.sentinelUsername }),
          ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
        },
      };
    case 'cluster':
      return {
        kind: 'cluster',
        nodes: target.nodes,
        // Each node's connection carries the deadlines; the cluster routes commands to them.
        options: { ...lazy, ...AUTO_PIPELINING, redisOptions: { maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST, ...timed, ...auth(target) } },
      };
  }
}

/** A client for REDIS_URL: standalone, Sentinel-managed or Cluster (see the forms above). */
export function createRedisClient(url: string, options: RedisClientOptions = {}): RedisClient {
  const plan = redisClientPlan(url, options);
  switch (plan.kind) {
    case 'standalone':
      return new Redis(plan.url, plan.options);
    case 'sentinel':
      return new Redis(plan.options);
    case 'cluster':
      return new Cluster(plan.nodes, plan.options);
  }
}
