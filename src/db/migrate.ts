import { installJobQueue } from '../events/queue.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';

export const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url));

// Any constant works; it only has to be the same for every instance of this application.
const MIGRATION_LOCK_ID = 7_240_115_931;

export interface Migration {
  version: string;
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export function readMigrations(dir: string = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return { version: file.slice(0, 4), name: file.slice(5, -4), sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Applies pending migrations in order, each in its own transaction, and records them. A
 * session-level advisory lock makes a second instance starting at the same moment wait and then
 * find nothing left to do. An applied migration whose file changed afterwards stops start-up:
 * the schema would no longer match the files.
 */
export async function migrate(db: Database, migrations: Migration[] = readMigrations()): Promise<string[]> {
  return db.withConnection(async (conn) => {
    await conn.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version text PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done: string[] = [];
      for (const migration of migrations) {
        // Checked inside the migration's own transaction: on PGlite every connection is the same
        // backend, so the advisory lock does not exclude anyone, but transactions never interleave.
        await conn.query('BEGIN');
        try {
          const { rows } = await conn.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE version = $1', [migration.version]);
          if (rows[0]) {
            await conn.query('COMMIT');
            if (rows[0].checksum !== migration.checksum) {
              throw new MigrationError(`migration ${migration.version}_${migration.name}.sql changed after it was applied; add a new migration instead`);
            }
            continue;
          }
          await conn.query(migration.sql);
          await conn.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [migration.version, migration.name, migration.checksum]);
          await conn.query('COMMIT');
        } catch (error) {
          await conn.query('ROLLBACK').catch(() => undefined);
          if (error instanceof MigrationError) throw error;
          throw new MigrationError(`migration ${migration.version}_${migration.name}.sql failed: ${(error as Error).message}`);
        }
        done.push(`${migration.version}_${migration.name}`);
      }
      // The durable job queue's own schema (src/events/queue.ts), versioned by pg-boss itself.
      await installJobQueue(conn);
      return done;
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  });
}
