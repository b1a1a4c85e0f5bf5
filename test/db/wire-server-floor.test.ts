import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGliteWireServer } from '../../src/db/pglite-wire-server.ts';
import { unavailableDependency } from '../../src/http/unavailable.ts';

// Short limits keep the test quick; nothing below asserts how fast an answer comes, only that
// one comes, and what it says.
const FLOOR_WAIT_MS = 300;
const IDLE_HOLDER_MS = 3000;

describe('the embedded wire server when a connection keeps the floor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-floor-'));
  let db: PGlite;
  let server: PGliteWireServer;
  const clients: pg.Client[] = [];

  const client = async (): Promise<pg.Client> => {
    const next = new pg.Client({ host: dir, port: 5432, user: 'postgres', database: 'postgres' });
    next.on('error', () => undefined);
    clients.push(next);
    await next.connect();
    return next;
  };

  beforeAll(async () => {
    db = await PGlite.create();
    server = new PGliteWireServer(db, join(dir, '.s.PGSQL.5432'), { floorWaitMs: FLOOR_WAIT_MS, idleHolderMs: IDLE_HOLDER_MS });
    await server.start();
    await db.exec('CREATE TABLE t (n int)');
  });
  afterAll(async () => {
    for (const each of clients) await each.end().catch(() => undefined);
    await server?.stop();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a waiting statement with an error naming the wait, and the connection stays usable', async () => {
    const holder = await client();
    const waiter = await client();
    await holder.query('BEGIN');
    await holder.query('INSERT INTO t VALUES (1)');

    // Extended protocol (Parse, Bind, Execute, Sync): the rest of the exchange is skipped to its Sync.
    const extended = await waiter.query('SELECT $1::int AS n', [1]).then(() => null, (error: unknown) => error as pg.DatabaseError);
    expect(extended).toBeInstanceOf(pg.DatabaseError);
    expect(extended?.code).toBe('55P03');
    expect(extended?.message).toMatch(/waited more than 300 ms for the embedded database/);
    expect(unavailableDependency(extended)).toBe('database');
    // Simple protocol: one Query message.
    await expect(waiter.query('SELECT 1')).rejects.toMatchObject({ code: '55P03' });

    await holder.query('COMMIT');
    // The refused connection got its ReadyForQuery: it goes on as if nothing happened.
    expect((await waiter.query<{ n: number }>('SELECT $1::int AS n', [7])).rows).toEqual([{ n: 7 }]);
    expect((await waiter.query<{ count: number }>('SELECT count(*)::int AS count FROM t')).rows).toEqual([{ count: 1 }]);
  });

  it('refuses a new connection that cannot get its turn, with the same error', async () => {
    const holder = await client();
    await holder.query('BEGIN');
    const late = new pg.Client({ host: dir, port: 5432, user: 'postgres', database: 'postgres' });
    late.on('error', () => undefined);
    await expect(late.connect()).rejects.toMatchObject({ code: '55P03' });
    await holder.query('ROLLBACK');
  });

  it('rolls back and disconnects a connection that holds the floor idle in a transaction, so the others go on', async () => {
    const stuck = await client();
    const ended = new Promise<void>((resolve) => stuck.once('end', () => resolve()));
    await stuck.query('BEGIN');
    await stuck.query('INSERT INTO t VALUES (2)');
    await ended;
    await expect(stuck.query('SELECT 1')).rejects.toThrow();

    const other = await client();
    expect((await other.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE n = 2')).rows).toEqual([{ n: 0 }]);
    expect(db.isInTransaction()).toBe(false);
  });

  it('keeps waiting connections in their order and serves each once the floor is free', async () => {
    const holder = await client();
    const waiters = await Promise.all([client(), client(), client()]);
    await holder.query('BEGIN');
    const answers = waiters.map((each, index) => each.query<{ n: number }>('SELECT $1::int AS n', [index]));
    await holder.query('COMMIT');
    expect((await Promise.all(answers)).map((result) => result.rows[0]!.n)).toEqual([0, 1, 2]);
  });
});
