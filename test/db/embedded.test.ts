import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbedded } from '../../src/db/embedded.ts';
import type { Database } from '../../src/db/database.ts';

describe('embedded database shared over its socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-emb-'));
  let owner: Database;
  let joiners: Database[];

  beforeAll(async () => {
    owner = await openEmbedded(dir, 'server');
    joiners = await Promise.all([openEmbedded(dir, 'cli'), openEmbedded(dir, 'cli')]);
  });
  afterAll(async () => {
    for (const db of joiners ?? []) await db.close();
    await owner?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never hands one connection the answer to another connection\'s query', async () => {
    const databases = [owner, ...joiners];
    const asks = databases.flatMap((db, d) => Array.from({ length: 150 }, (_, i) => ({ db, value: `${d}-${i}` })));
    const answers = await Promise.all(asks.map(async ({ db, value }) => (await db.query<{ v: string }>('SELECT $1::text AS v', [value])).rows[0]!.v));
    expect(answers).toEqual(asks.map((ask) => ask.value));
  });

  it('keeps a transaction to itself: others neither see its rows nor run inside it', async () => {
    await owner.query('CREATE TABLE t (n int)');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tx = owner.transaction(async (client) => {
      await client.query('INSERT INTO t VALUES (1)');
      await held;
      throw new Error('roll back');
    }).catch(() => 'rolled back');
    const outside = joiners[0]!.query<{ count: string }>('SELECT count(*) FROM t');
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    expect(await tx).toBe('rolled back');
    expect((await outside).rows[0]!.count).toBe('0');
  });

  it('refuses a second server on the same directory, with a message that says what to do', async () => {
    await expect(openEmbedded(dir, 'server', { waitMs: 200 })).rejects.toThrow(/another idp server .*DATABASE_URL/);
  });

  it('releases the directory on close', async () => {
    const other = mkdtempSync(join(tmpdir(), 'idp-emb-'));
    const db = await openEmbedded(other, 'server');
    expect(existsSync(join(other, 'embedded.lock'))).toBe(true);
    await db.close();
    expect(existsSync(join(other, 'embedded.lock'))).toBe(false);
    expect(existsSync(join(other, '.s.PGSQL.5432'))).toBe(false);
    rmSync(other, { recursive: true, force: true });
  });
});
