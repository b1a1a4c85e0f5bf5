import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connectPostgres, type Database } from '../../src/db/database.ts';
import { openEmbedded } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';

export interface TestDatabase {
  db: Database;
  /** What the app's config needs to reach this same database. */
  settings: { databaseUrl?: string; dataDir: string };
  drop(): Promise<void>;
}

/** The real PostgreSQL when DATABASE_URL is set (a fresh database per call), else embedded PGlite. */
export const usingPostgres = Boolean(process.env.DATABASE_URL);

function databaseUrlFor(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A freshly migrated, empty database of its own. */
export async function createTestDatabase(options: { migrated?: boolean; open?: boolean } = {}): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-'));
  const base = process.env.DATABASE_URL;
  if (base) {
    const name = `idp_test_${randomBytes(6).toString('hex')}`;
    const admin = connectPostgres(base, 1);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.close();
    const databaseUrl = databaseUrlFor(base, name);
    const db = connectPostgres(databaseUrl, 5);
    if (options.migrated !== false) await migrate(db);
    return {
      db,
      settings: { databaseUrl, dataDir },
      async drop() {
        await db.close();
        const cleanup = connectPostgres(base, 1);
        await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await cleanup.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const db = await openEmbedded(dataDir, 'server');
  if (options.migrated !== false) await migrate(db);
  return {
    db,
    settings: { dataDir },
    async drop() {
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh, empty database that nobody has opened yet: for code that connects by itself. */
export async function createTestDatabaseSettings(): Promise<{ settings: TestDatabase['settings']; drop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-'));
  const base = process.env.DATABASE_URL;
  if (!base) {
    return { settings: { dataDir }, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `idp_test_${randomBytes(6).toString('hex')}`;
  const admin = connectPostgres(base, 1);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.close();
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
