/**
 * Storage round trips of our provider during a timed phase: SQL statements from its own
 * Prometheus metrics (GET /metrics on the main port, served outside production) and Redis
 * commands from the server's INFO commandstats. The bare provider keeps everything in memory,
 * so it has neither.
 */
import { Redis } from 'ioredis';

/** Counts over one timed phase; null where the source could not be read. */
export interface RoundTrips {
  sqlStatements: number | null;
  redisCommands: number | null;
  /** How many of redisCommands were EVAL and EVALSHA calls (the scripts' own commands are in
   * redisCommands too: Redis counts every redis.call() under its command). */
  redisEval: number | null;
  redisEvalsha: number | null;
}

export interface RoundTripCounter {
  /** Right before the timed phase. */
  start(): Promise<void>;
  /** Right after it: the difference since start(). */
  stop(): Promise<RoundTrips>;
}

// src/observability/metrics.ts
const QUERY_HISTOGRAM = 'idp_db_query_duration_seconds';
const QUERY_COUNT = `${QUERY_HISTOGRAM}_count`;

/** The labels of one sample line in the Prometheus text format, `name{a="x",b="y"} value`. */
function labels(text: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const match of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[match[1]!] = match[2]!.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
  return found;
}

/**
 * SQL statements sent so far, from the query histogram's counts: every statement is counted
 * under its operation, and a whole transaction once more as `transaction`; that one stands for
 * its BEGIN and COMMIT (or ROLLBACK), so it counts twice (src/db/database.ts). Null when the
 * exposition has no such histogram.
 */
export function sqlStatementsIn(exposition: string): number | null {
  let total = 0;
  // A histogram with labels has no samples before its first observation, only its TYPE line.
  let seen = false;
  for (const line of exposition.split('\n')) {
    if (line.startsWith(`# TYPE ${QUERY_HISTOGRAM} `)) seen = true;
    if (!line.startsWith(`${QUERY_COUNT}{`) && !line.startsWith(`${QUERY_COUNT} `)) continue;
    const rest = line.slice(QUERY_COUNT.length);
    const end = rest.startsWith('{') ? rest.lastIndexOf('}') + 1 : 0;
    // The value, then an optional timestamp.
    const value = Number(rest.slice(end).trim().split(' ')[0]);
    if (!Number.isFinite(value)) continue;
    seen = true;
    total += labels(rest.slice(0, end)).operation === 'transaction' ? 2 * value : value;
  }
  return seen ? total : null;
}

/**
 * Null when /metrics does not answer or has no query histogram. A scrape may itself run a
 * query (a gauge's collect reads the back-channel logout queue): at most one per scrape, noise.
 */
async function scrapeSqlStatements(base: string): Promise<number | null> {
  try {
    const response = await fetch(new URL('/metrics', base), { signal: AbortSignal.timeout(5000) });
    if (!response.ok) return null;
    return sqlStatementsIn(await response.text());
  } catch {
    return null;
  }
}

interface CommandStats {
  total: number;
  eval: number;
  evalsha: number;
}

function commandStatsIn(info: string): CommandStats {
  const stats: CommandStats = { total: 0, eval: 0, evalsha: 0 };
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const calls = Number(match[2]);
    stats.total += calls;
    if (match[1] === 'eval') stats.eval = calls;
    if (match[1] === 'evalsha') stats.evalsha = calls;
  }
  return stats;
}

/**
 * Commands the Redis server has run, read on a connection of the bench's own. Each INFO counts
 * in the next one (Redis updates its stats after a command ran), so a phase between two
 * readings holds exactly one INFO of ours, taken off in difference().
 */
export class RedisCommandStats {
  private readonly redis: Redis;

  constructor(url: string) {
    // No ready check: it would send an INFO of its own on every (re)connection.
    this.redis = new Redis(url, { maxRetriesPerRequest: 2, enableReadyCheck: false });
    this.redis.on('error', () => undefined); // a failed reading is reported as null
  }

  async read(): Promise<CommandStats | null> {
    try {
      return commandStatsIn(await this.redis.info('commandstats'));
    } catch {
      return null;
    }
  }

  static difference(before: CommandStats | null, after: CommandStats | null): Pick<RoundTrips, 'redisCommands' | 'redisEval' | 'redisEvalsha'> {
    if (!before || !after) return { redisCommands: null, redisEval: null, redisEvalsha: null };
    return { redisCommands: after.total - before.total - 1, redisEval: after.eval - before.eval, redisEvalsha: after.evalsha - before.evalsha };
  }

  close(): void {
    this.redis.disconnect();
  }
}

/**
 * Our provider's counter. The readings nest (SQL, Redis, phase, Redis, SQL) so that whatever
 * the /metrics request itself sends to Redis stays outside the Redis window.
 */
export function storageRoundTrips(base: string, redis: RedisCommandStats | null): RoundTripCounter {
  let sqlBefore: number | null = null;
  let redisBefore: CommandStats | null = null;
  return {
    async start() {
      sqlBefore = await scrapeSqlStatements(base);
      redisBefore = redis ? await redis.read() : null;
    },
    async stop() {
      const redisAfter = redis ? await redis.read() : null;
      const sqlAfter = await scrapeSqlStatements(base);
      return {
        sqlStatements: sqlBefore !== null && sqlAfter !== null ? sqlAfter - sqlBefore : null,
        ...RedisCommandStats.difference(redisBefore, redisAfter),
      };
    },
  };
}
