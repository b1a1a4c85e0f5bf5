import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connectPostgres, type Database } from '../../src/db/database.ts';
import { openEmbedded } from '../../src/db/embedded.ts';
import { databaseTemplates } from './templates.ts';

export interface TestDatabase {
  db: Database;
  /** What the app's config needs to reach this same database. */
  settings: { databaseUrl?: string; dataDir: string };
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** false: the schema is not there yet (for the tests of migrations themselves). Default true. */
  migrated?: boolean;
}

/** The real PostgreSQL when DATABASE_URL is set (a fresh database per call), else embedded PGlite. */
export const usingPostgres = Boolean(process.env.DATABASE_URL);

function databaseUrlFor(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A database of its own that nobody has opened yet, copied from this run's template (migrated,
 * or unmigrated): a directory copy on PGlite (no initdb), CREATE DATABASE … TEMPLATE on PostgreSQL
 * (no migrations). For code that connects by itself: an app, a child process.
 */
export async function createTestDatabaseSettings(options: TestDatabaseOptions = {}): Promise<{ settings: TestDatabase['settings']; drop(): Promise<void> }> {
  const migrated = options.migrated !== false;
  const made = await databaseTemplates();
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-'));
  if (made.kind === 'embedded') {
    cpSync(migrated ? made.migrated : made.pristine, dataDir, { recursive: true });
    return { settings: { dataDir }, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const base = process.env.DATABASE_URL!;
  const name = `idp_test_${randomBytes(6).toString('hex')}`;
  const admin = connectPostgres(base, 1);
  try {
    // Without a template, PostgreSQL copies template1: an empty schema, as on a new server.
    await admin.query(`CREATE DATABASE ${name}${migrated ? ` TEMPLATE ${made.migrated}` : ''}`);
  } finally {
    await admin.close();
  }
  return {
    settings: { databaseUrl: databaseUrlFor(base, name), dataDir },
    async drop() {
      const cleanup = connectPostgres(base, 1);
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A database of its own, opened (see createTestDatabaseSettings); migrated unless told otherwise. */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const fresh = await createTestDatabaseSettings(options);
  try {
    const db = fresh.settings.databaseUrl ? connectPostgres(fresh.settings.databaseUrl, 5) : await openEmbedded(fresh.settings.dataDir, 'server');
    return {
      db,
      settings: fresh.settings,
      async drop() {
        await db.close();
        await fresh.drop();
      },
    };
  } catch (error) {
    await fresh.drop();
    throw error;
  }
}
