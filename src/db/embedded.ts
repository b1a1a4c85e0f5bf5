import { mkdirSync, openSync, writeSync, closeSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { createDatabase, type Database } from './database.ts';
import { embeddedPoolOptions, type DatabaseTimeouts } from './deadlines.ts';
import { PGliteWireServer } from './pglite-wire-server.ts';

/**
 * PGlite is one Postgres backend inside one process. To let the CLI work while the server runs,
 * the process that owns the data directory serves it over a unix socket in DATA_DIR (see
 * pglite-wire-server.ts), and everyone, the owner included, talks to it with `pg`: one code path
 * for PostgreSQL and PGlite, and a CLI transaction never interleaves with the server's queries.
 * Ownership is an exclusive lock file holding the owner's pid.
 */

export type EmbeddedRole = 'server' | 'cli';

interface LockInfo {
  pid: number;
  role: EmbeddedRole;
}

const SOCKET_PORT = 5432;
const socketName = `.s.PGSQL.${SOCKET_PORT}`;
// sun_path holds 108 bytes on Linux; leave room for the terminating NUL.
const MAX_SOCKET_PATH = 100;

export class EmbeddedDatabaseError extends Error {
  override name = 'EmbeddedDatabaseError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return typeof info.pid === 'number' ? info : null;
  } catch {
    return null;
  }
}

function tryLock(path: string, role: EmbeddedRole): boolean {
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, JSON.stringify({ pid: process.pid, role } satisfies LockInfo));
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  }
}

function clientPool(dataDir: string, max: number, timeouts: DatabaseTimeouts | undefined): pg.Pool {
  const pool = new pg.Pool({ host: dataDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres', max, ...(timeouts ? embeddedPoolOptions(timeouts) : {}) });
  pool.on('error', () => undefined);
  return pool;
}

async function ownerIsServing(dataDir: string): Promise<boolean> {
  if (!existsSync(join(dataDir, socketName))) return false;
  // An owner that is stopped (SIGSTOP, a debugger) accepts the connection and never answers.
  const client = new pg.Client({ host: dataDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000, query_timeout: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens the embedded database under dataDir. A CLI joins a running owner as a client; a server
 * waits briefly for a CLI owner to finish, and refuses to share the directory with another server.
 * Without `timeouts`, nothing has a deadline and a connection may wait for its turn forever.
 */
export async function openEmbedded(dataDir: string, role: EmbeddedRole, options: { waitMs?: number; poolSize?: number; timeouts?: DatabaseTimeouts } = {}): Promise<Database> {
  const socketPath = join(dataDir, socketName);
  if (socketPath.length > MAX_SOCKET_PATH) {
    throw new EmbeddedDatabaseError(`DATA_DIR path is too long for a unix socket (${socketPath.length} > ${MAX_SOCKET_PATH} characters): choose a shorter DATA_DIR`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockPath = join(dataDir, 'embedded.lock');
  const poolSize = options.poolSize ?? 5;
  const deadline = Date.now() + (options.waitMs ?? 15_000);

  for (;;) {
    if (tryLock(lockPath, role)) return own(dataDir, lockPath, socketPath, poolSize, options.timeouts);
    const holder = readLock(lockPath);
    if (holder && !alive(holder.pid)) {
      rmSync(lockPath, { force: true });
      continue;
    }
    if (holder && (await ownerIsServing(dataDir))) {
      if (role === 'cli') return createDatabase(clientPool(dataDir, poolSize, options.timeouts), { embedded: true });
      if (holder.role === 'server') {
        throw new EmbeddedDatabaseError(`another idp server (pid ${holder.pid}) is using ${dataDir}; the embedded database serves one server. Stop it, or set DATABASE_URL to run several instances`);
      }
    }
    if (Date.now() > deadline) {
      throw new EmbeddedDatabaseError(`${dataDir} is locked by pid ${holder?.pid ?? 'unknown'}; if no idp process is running, delete ${lockPath}`);
    }
    await sleep(100);
  }
}

// An honest transaction pauses between its statements only for the application's own work (a
// key generated, a password hashed elsewhere); one idle this many turns of the floor wait is
// stuck, and everyone behind it is already failing.
const IDLE_HOLDER_FLOOR_WAITS = 4;

/*
 * PostgreSQL's default 128 MB of shared buffers is sized for a server of its own; here they live
 * in this process's WebAssembly memory, which never shrinks, next to an identity provider whose
 * hot data (provider state) is elsewhere (src/db/state-sqlite.ts). 16 MB holds the accounts,
 * clients and keys of a small installation; the operating system's page cache holds the rest.
 */
const EMBEDDED_SETTINGS = ['shared_buffers = 16MB'];

const run = promisify(execFile);

/**
 * initdb of a new data directory in a child process: it grows WebAssembly memory to several
 * hundred MiB, which a process can never give back, so the server that then opens the directory
 * would carry it for its whole life. Only the first start of a new DATA_DIR pays this (a second
 * or two). Bounded: a child that does not finish in 120 s is killed and start-up fails.
 */
async function initialiseApart(pgdata: string): Promise<void> {
  const script = `const { PGlite } = await import('@electric-sql/pglite'); const db = await PGlite.create(process.argv[1], { postgresqlconf: ${JSON.stringify(EMBEDDED_SETTINGS)} }); await db.close();`;
  try {
    await run(process.execPath, ['--input-type=module', '-e', script, pgdata], { timeout: 120_000, cwd: import.meta.dirname });
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? (error as Error).message;
    throw new EmbeddedDatabaseError(`could not create the embedded database in ${pgdata}: ${detail}`);
  }
}

async function own(dataDir: string, lockPath: string, socketPath: string, poolSize: number, timeouts: DatabaseTimeouts | undefined): Promise<Database> {
  let db: PGlite | undefined;
  let server: PGliteWireServer | undefined;
  try {
    rmSync(socketPath, { force: true }); // left behind by a process that died
    const pgdata = join(dataDir, 'pglite');
    if (!existsSync(join(pgdata, 'PG_VERSION'))) await initialiseApart(pgdata);
    db = await PGlite.create(pgdata, { postgresqlconf: EMBEDDED_SETTINGS });
    server = new PGliteWireServer(db, socketPath, timeouts ? { floorWaitMs: timeouts.embeddedFloorMs, idleHolderMs: IDLE_HOLDER_FLOOR_WAITS * timeouts.embeddedFloorMs } : {});
    await server.start();
  } catch (error) {
    await server?.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    rmSync(lockPath, { force: true });
    throw error;
  }
  const ownedDb = db;
  const ownedServer = server;
  return createDatabase(clientPool(dataDir, poolSize, timeouts), {
    embedded: true,
    onNotification: (listener) => ownedServer.onNotification(listener),
    async onClose() {
      await ownedServer.stop();
      await ownedDb.close();
      rmSync(socketPath, { force: true });
      rmSync(lockPath, { force: true });
    },
  });
}
