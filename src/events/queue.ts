import { PgBoss, type Job } from 'pg-boss';
import type { Database, Queryable } from '../db/database.ts';
import type { Logger } from '../log.ts';

/**
 * Durable work that must outlive the request and the instance that asked for it: back-channel
 * logout deliveries, webhook deliveries. Jobs live in the same database as everything else (the
 * `pgboss` schema, on PostgreSQL and on the embedded database alike), so a job sent inside a
 * change's transaction exists exactly when the change does, and one that an instance was working
 * on when it stopped is picked up by another once its lease runs out.
 *
 * pg-boss does the queueing: claiming with SKIP LOCKED, retries with exponential backoff, leases,
 * FIFO per key (`key_strict_fifo`), retention. This file only fits it to our Database.
 */

export const JOB_SCHEMA = 'pgboss';

/** pg-boss's way in to a database: every statement through our Queryable, with our deadlines. */
function asBossDatabase(db: Queryable) {
  return { executeSql: async (text: string, values?: unknown[]) => db.query(text, values) };
}

// One install at a time in this process. pg-boss installs in one multi-statement text under its
// own transaction-scoped advisory lock, which separates PostgreSQL sessions; on the embedded
// database every connection is the same backend, so two installs started together in one process
// (instances sharing it, in tests) must be taken in turn here.
let installing: Promise<unknown> = Promise.resolve();

/** Creates or upgrades the queue's schema; run with the migrations, so every database has it. */
export function installJobQueue(db: Queryable): Promise<void> {
  const run = async () => {
    const boss = new PgBoss({ db: asBossDatabase(db), schema: JOB_SCHEMA, supervise: false, schedule: false, registerInstance: false } as ConstructorParameters<typeof PgBoss>[0]);
    try {
      await boss.start();
      await boss.stop({ graceful: false, close: false });
    } catch (error) {
      // A failed statement inside pg-boss's BEGIN leaves the session in an aborted transaction.
      await db.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  };
  const result = installing.then(run, run);
  installing = result.catch(() => undefined);
  return result;
}

export interface QueueDefinition {
  /** Attempts after the first; the last failure ends the job (the handler is told it is the last). */
  retryLimit: number;
  /** Seconds before the first retry; each later one waits about twice as long, up to retryDelayMax. */
  retryDelaySeconds: number;
  retryDelayMaxSeconds: number;
  /** How long one attempt may run before its lease ends and the job is retried (by any instance). */
  attemptSeconds: number;
  /** Jobs with the same key are worked one at a time, in the order they were sent. */
  ordered?: boolean;
}

export interface JobContext {
  /** 0 on the first attempt. */
  attempt: number;
  /** No retry follows when this attempt fails. */
  last: boolean;
  signal: AbortSignal;
}

export type JobHandler<T> = (data: T, job: JobContext) => Promise<void>;

export interface JobQueue {
  /** Declares a queue (idempotent); call before send or work. */
  define(name: string, definition: QueueDefinition): Promise<void>;
  /**
   * Queues a job. `tx`: inside that transaction, so it exists only if the transaction commits.
   * `key`: the ordering key of an `ordered` queue.
   */
  send<T extends object>(name: string, data: T, options?: { key?: string; tx?: Queryable }): Promise<void>;
  /** Works the queue's jobs in this process until stop(). */
  work<T extends object>(name: string, handler: JobHandler<T>): Promise<void>;
  /** How many jobs of a queue wait to run (new, deferred or between retries), for metrics and tests. */
  pending(name: string): Promise<number>;
  start(): Promise<void>;
  /** Stops taking jobs and waits (up to `timeoutMs`) for those running. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface JobQueueOptions {
  db: Database;
  logger: Logger;
  /** How often an idle worker looks for new jobs. */
  pollSeconds?: number;
  /** Whether this process runs maintenance (expiring leases, retention); the CLI only sends. */
  supervise?: boolean;
}

export function createJobQueue({ db, logger, pollSeconds = 1, supervise = true }: JobQueueOptions): JobQueue {
  const boss = new PgBoss({
    db: asBossDatabase(db),
    schema: JOB_SCHEMA,
    // The schema is made with the migrations (installJobQueue).
    migrate: false,
    supervise,
    schedule: false,
    registerInstance: false,
    maintenanceIntervalSeconds: 60,
  } as ConstructorParameters<typeof PgBoss>[0]);
  boss.on('error', (error: Error) => logger.error({ err: error, reason: error.message }, 'job queue error'));
  const definitions = new Map<string, QueueDefinition>();
  let started = false;

  return {
    async define(name, definition) {
      definitions.set(name, definition);
      const options = {
        policy: definition.ordered ? 'key_strict_fifo' : 'standard',
        retryLimit: definition.retryLimit,
        retryDelay: definition.retryDelaySeconds,
        retryBackoff: true,
        retryDelayMax: definition.retryDelayMaxSeconds,
        expireInSeconds: definition.attemptSeconds,
        // Finished jobs are kept a week for inspection, then deleted.
        deleteAfterSeconds: 7 * 86_400,
      } as const;
      // A queue keeps its policy for life (pg-boss's updateQueue refuses one): the rest is updated.
      const { policy: _policy, ...settings } = options;
      if (await boss.getQueue(name)) await boss.updateQueue(name, settings as never);
      else await boss.createQueue(name, options as never);
    },

    async send(name, data, options = {}) {
      await boss.send(name, data, {
        ...(options.key ? { singletonKey: options.key } : {}),
        ...(options.tx ? { db: asBossDatabase(options.tx) } : {}),
      } as never);
    },

    async work<T extends object>(name: string, handler: JobHandler<T>) {
      const definition = definitions.get(name);
      if (!definition) throw new Error(`queue ${name} is not defined`);
      const work = boss.work.bind(boss) as unknown as (queue: string, options: object, run: (jobs: Job<object>[]) => Promise<void>) => Promise<string>;
      await work(name, { pollingIntervalSeconds: pollSeconds, batchSize: 1 }, async (jobs) => {
        for (const job of jobs) {
          await handler(job.data as T, { attempt: job.retryCount, last: job.retryCount >= definition.retryLimit, signal: job.signal });
        }
      });
    },

    async pending(name) {
      return (await boss.findJobs(name, { queued: true, limit: 10_000 } as never)).length;
    },

    async start() {
      if (started) return;
      await boss.start();
      started = true;
    },

    async stop(timeoutMs = 5000) {
      if (!started) return;
      started = false;
      await boss.stop({ graceful: true, timeout: timeoutMs, close: false });
    },
  };
}
