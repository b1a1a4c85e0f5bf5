import { noteOutage, outageSeen } from './outage-scope.ts';

/**
 * When PostgreSQL or Redis cannot be reached, requests that need them fail at once with 503 and
 * say so, instead of hanging or answering 500. The error is shaped so that oidc-provider shows
 * it too (an exposed error with a status and an OAuth error code), and our own handlers map it
 * the same way.
 */
/** How long a 503 for an outage asks the client to wait (Retry-After), wherever it is answered. */
export const RETRY_AFTER_SECONDS = 5;

export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
  readonly expose = true;
  readonly status = 503;
  readonly statusCode = 503;
  /** OAuth error code (RFC 6749 §4.1.2.1), what oidc-provider puts in `error`. */
  override readonly message = 'temporarily_unavailable';
  readonly error = 'temporarily_unavailable';
  readonly error_description: string;
  readonly dependency: 'database' | 'redis';

  constructor(dependency: 'database' | 'redis', cause: unknown) {
    super('temporarily_unavailable', { cause });
    this.dependency = dependency;
    this.error_description = 'The sign-in service cannot reach its storage right now. Try again in a few seconds.';
  }
}

// Connection-level failures and deadlines: the dependency is down, unreachable or not answering
// in time, not a bad query. 57014 is PostgreSQL's statement_timeout, 55P03 a lock (or the
// embedded database's turn) not had in time, 25P03 a session cut for idling in a transaction;
// 'Query read timeout' is pg's own deadline, 'timeout expired' its connect deadline.
const pgCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '57014', '55P03', '25P03', '08000', '08001', '08003', '08006']);
const pgMessages = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused|terminating connection|Query read timeout|^timeout expired$/i;
const redisMessages = /Stream isn't writeable|Connection is closed|max retries per request|Command timed out|ECONNREFUSED|connect ETIMEDOUT|ClusterAllFailedError|None of startup nodes is available/i;

/** Which dependency an error says is unreachable, or null for any other error. */
export function unavailableDependency(error: unknown): 'database' | 'redis' | null {
  if (error instanceof ServiceUnavailableError) return error.dependency;
  const candidate = error as { name?: string; code?: string; message?: string; errors?: unknown[] } | null;
  if (!candidate || typeof candidate !== 'object') return null;
  if (candidate.name === 'MaxRetriesPerRequestError' || (candidate.name?.includes('Redis') ?? false) || redisMessages.test(candidate.message ?? '')) {
    // ioredis errors; ECONNREFUSED alone is ambiguous, so look at where it came from below.
    if (!pgMessages.test(candidate.message ?? '') && !(candidate.code && pgCodes.has(candidate.code) && !redisMessages.test(candidate.message ?? ''))) return 'redis';
  }
  if ((candidate.code && pgCodes.has(candidate.code)) || pgMessages.test(candidate.message ?? '')) return 'database';
  // The embedded provider state file (node:sqlite) still locked by another process after its busy timeout.
  if (candidate.code === 'ERR_SQLITE_ERROR' && /database is locked|database table is locked/i.test(candidate.message ?? '')) return 'database';
  // pg reports a refused connection to every resolved address as one AggregateError.
  if (Array.isArray(candidate.errors) && candidate.errors.some((inner) => unavailableDependency(inner) !== null)) return 'database';
  return null;
}

/** Rethrows connection failures as ServiceUnavailableError; anything else unchanged. */
export function toUnavailable(error: unknown, fallback: 'database' | 'redis' = 'database'): unknown {
  const dependency = unavailableDependency(error);
  if (!dependency) return error;
  noteOutage(dependency);
  return error instanceof ServiceUnavailableError ? error : new ServiceUnavailableError(dependency ?? fallback, error);
}
