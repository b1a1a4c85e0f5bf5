import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';
import { connectPostgres } from '../../src/db/database.ts';
import { openEmbedded } from '../../src/db/embedded.ts';
import { migrate, readMigrations } from '../../src/db/migrate.ts';
import type { TemplateRun } from '../setup/templates.ts';

/**
 * What every test database of a run is copied from, made once per run instead of once per test
 * file: PGlite's initdb alone takes 7-16 s on a busy 2-core machine, and migrating every
 * database adds up on PostgreSQL too. The templates hold the schema only: signing and cookie
 * keys are made by each app on its first start, so no two apps share them.
 */
export type DatabaseTemplates =
  /** A database name on the DATABASE_URL server (an unmigrated database needs no template). */
  | { kind: 'postgres'; migrated: string }
  /** DATA_DIR contents of a cleanly closed embedded database: just after initdb, and migrated. */
  | { kind: 'embedded'; pristine: string; migrated: string };

// Longer than the slowest initdb seen on a loaded machine; beforeAll's own timeout is longer still.
const WAIT_MS = 110_000;

let mine: Promise<DatabaseTemplates> | undefined;

/**
 * This run's templates. Test files run in parallel processes: the first to ask makes them
 * (holding a lock directory, which mkdir creates atomically), the others wait for its result
 * file. Keyed by the migrations' checksums, so a watch-mode run whose migrations change makes
 * new ones instead of copying a stale schema.
 */
export function databaseTemplates(): Promise<DatabaseTemplates> {
  mine ??= obtain(inject('databaseTemplates'));
  return mine;
}

async function obtain(run: TemplateRun | undefined): Promise<DatabaseTemplates> {
  if (!run) throw new Error('no place for database templates: run the tests through vitest.config.ts, whose globalSetup is test/setup/templates.ts');
  const base = process.env.DATABASE_URL;
  if (Boolean(base) !== Boolean(run.postgresPrefix)) throw new Error('DATABASE_URL changed between the globalSetup and this test file');
  const key = createHash('sha256').update(readMigrations().map((m) => `${m.version}:${m.checksum}`).join('\n')).digest('hex').slice(0, 12);
  const home = join(run.dir, key);
  mkdirSync(home, { recursive: true });
  const result = join(home, 'templates.json');
  const failure = join(home, 'failed');
  if (tryLock(join(home, 'lock'))) {
    try {
      const made = base ? await makePostgresTemplate(base, `${run.postgresPrefix}_${key}`) : await makeEmbeddedTemplates(home);
      // Renamed into place, so a waiting process never reads half a file.
      writeFileSync(`${result}.tmp`, JSON.stringify(made));
      renameSync(`${result}.tmp`, result);
      return made;
    } catch (error) {
      writeFileSync(failure, (error as Error).stack ?? String(error));
      throw error;
    }
  }
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (existsSync(result)) return JSON.parse(readFileSync(result, 'utf8')) as DatabaseTemplates;
    if (existsSync(failure)) throw new Error(`another test process failed to make the database templates:\n${readFileSync(failure, 'utf8')}`);
    if (Date.now() > deadline) throw new Error(`no database templates in ${home} after ${WAIT_MS / 1000} s: the process making them may have died`);
    await sleep(100);
  }
}

function tryLock(path: string): boolean {
  try {
    mkdirSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function databaseUrlFor(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

async function makePostgresTemplate(base: string, name: string): Promise<DatabaseTemplates> {
  const admin = connectPostgres(base, 1);
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const db = connectPostgres(databaseUrlFor(base, name), 1);
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    // CREATE DATABASE … TEMPLATE fails while anyone is connected to the template: nobody may.
    await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
  } finally {
    await admin.close();
  }
  return { kind: 'postgres', migrated: name };
}

async function makeEmbeddedTemplates(home: string): Promise<DatabaseTemplates> {
  const pristine = join(home, 'pristine');
  const migrated = join(home, 'migrated');
  // One initdb: opened and closed, copied as the pristine template, then opened again and
  // migrated in place. Opened as the app opens it, so the layout is the app's own.
  await (await openEmbedded(migrated, 'server')).close();
  cpSync(assertClosedCleanly(migrated), pristine, { recursive: true });
  const db = await openEmbedded(migrated, 'server');
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
  assertClosedCleanly(migrated);
  return { kind: 'embedded', pristine, migrated };
}

// pg_control's `state` (a DBState enum: a 4-byte integer at offset 16, after the system
// identifier and two version numbers; PostgreSQL's src/include/catalog/pg_control.h).
// DB_SHUTDOWNED is what a clean shutdown leaves; a copy of anything else would start with crash
// recovery, or miss pages the backend had not written yet.
const PG_CONTROL_STATE_OFFSET = 16;
const DB_SHUTDOWNED = 1;

/**
 * Checks that the embedded database under dataDir was closed cleanly and left nothing of a live
 * process behind (the lock file and the socket, which openEmbedded removes on close), so a copy
 * of the directory is a database at rest. Returns dataDir.
 */
function assertClosedCleanly(dataDir: string): string {
  const entries = readdirSync(dataDir);
  // Wherever openEmbedded keeps PGlite's data directory: the one entry with a PG_VERSION.
  const pgdata = entries.map((entry) => join(dataDir, entry)).filter((path) => existsSync(join(path, 'PG_VERSION')));
  if (entries.length !== 1 || pgdata.length !== 1) throw new Error(`expected only the PGlite data directory in ${dataDir}, found: ${entries.join(', ')}`);
  const state = readFileSync(join(pgdata[0]!, 'global', 'pg_control')).readInt32LE(PG_CONTROL_STATE_OFFSET);
  if (state !== DB_SHUTDOWNED) throw new Error(`the template database in ${dataDir} was not shut down cleanly (pg_control state ${state})`);
  return dataDir;
}
