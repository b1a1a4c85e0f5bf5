import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProviderStateFile, PROVIDER_STATE_FILE, type ProviderStateFile } from '../../src/db/state-sqlite.ts';
import { createSqliteCounterStore } from '../../src/security/counters-sqlite.ts';
import { createLimiterFactory } from '../../src/security/rate-limits.ts';
import type { Database } from '../../src/db/database.ts';
import { unavailableDependency } from '../../src/http/unavailable.ts';

/*
 * Embedded mode keeps the rate-limit counters in the provider state file. The rules are those
 * of the SQL and Redis stores: one atomic step per change, windows by the caller's clock.
 */
describe('rate-limit counters in the provider state file', () => {
  let dir: string;
  let files: ProviderStateFile[];
  const open = () => {
    const file = createProviderStateFile(dir);
    files.push(file);
    return file;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-counters-'));
    files = [];
  });
  afterEach(() => {
    for (const file of files) file.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives every one of many concurrent adds its own total, and each resolves once committed', async () => {
    const file = open();
    const store = createSqliteCounterStore(file);
    const now = 1_000_000;
    const commits = file.commits;
    const tallies = await Promise.all(Array.from({ length: 40 }, () => store.add('k', 1, now, 60_000)));
    // One event-loop turn: one group commit for all of them.
    expect(file.commits - commits).toBe(1);
    expect(tallies.map((tally) => tally.points).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, index) => index + 1));
    expect(new Set(tallies.map((tally) => tally.endsAt))).toEqual(new Set([now + 60_000]));
  });

  it('opens a new window once the old one ended by the caller\'s clock, and gives back only into an open one', async () => {
    const store = createSqliteCounterStore(open());
    expect(await store.add('k', 3, 0, 1_000)).toEqual({ points: 3, endsAt: 1_000 });
    expect(await store.add('k', 2, 999, 1_000)).toEqual({ points: 5, endsAt: 1_000 });
    await store.subtract('k', 1, 500);
    expect(await store.add('k', 0, 600, 1_000)).toEqual({ points: 4, endsAt: 1_000 });
    // Ended: nothing to give back, and the next add starts afresh.
    await store.subtract('k', 4, 1_000);
    expect(await store.add('k', 1, 1_000, 1_000)).toEqual({ points: 1, endsAt: 2_000 });
    await store.set('k', 9, 1_500, 10_000);
    expect(await store.add('k', 1, 1_600, 1_000)).toEqual({ points: 10, endsAt: 11_500 });
    await store.delete('k');
    expect(await store.add('k', 1, 1_700, 1_000)).toEqual({ points: 1, endsAt: 2_700 });
  });

  it('is what an embedded limiter uses: nothing reaches the database', async () => {
    const refuse = () => Promise.reject(new Error('the database must not be asked'));
    const db = { query: refuse, transaction: refuse, embedded: true } as unknown as Database;
    const file = open();
    const limiter = createLimiterFactory({ redis: null, db, sqlite: file, prefix: '' })('login-ip', { points: 2, durationSeconds: 60 });
    expect((await limiter.take('1.2.3.4')).consumed).toBe(1);
    await limiter.reward('1.2.3.4');
    expect((await limiter.take('1.2.3.4')).consumed).toBe(1);
    file.close();
    const raw = new DatabaseSync(join(dir, PROVIDER_STATE_FILE));
    try {
      expect(raw.prepare('SELECT key, points FROM rate_limits').all()).toEqual([{ key: 'limit:login-ip:1.2.3.4', points: 1 }]);
    } finally {
      raw.close();
    }
  });

  it('upgrades a file of the first layout in place, keeping its records', async () => {
    const file = open();
    file.open();
    await file.write(() => file.statement("INSERT INTO oidc_payloads (model, id, payload) VALUES ('Session', 's', '{}')").run());
    file.close();
    const raw = new DatabaseSync(join(dir, PROVIDER_STATE_FILE));
    raw.exec('DROP TABLE rate_limits; PRAGMA user_version = 1');
    raw.close();

    const store = createSqliteCounterStore(open());
    expect(await store.add('k', 1, 0, 1_000)).toEqual({ points: 1, endsAt: 1_000 });
    const after = new DatabaseSync(join(dir, PROVIDER_STATE_FILE));
    try {
      expect(after.prepare('PRAGMA user_version').get()).toEqual({ user_version: 2 });
      expect(after.prepare('SELECT id FROM oidc_payloads').all()).toEqual([{ id: 's' }]);
    } finally {
      after.close();
    }
  });

  it('fails in about the busy timeout, as the database being unavailable, while another process holds the file, and counts nothing', async () => {
    const store = createSqliteCounterStore(open());
    expect(await store.add('other', 1, 0, 60_000)).toEqual({ points: 1, endsAt: 60_000 });
    // Another process (the CLI, say) holds the write lock for longer than the busy timeout.
    const path = join(dir, PROVIDER_STATE_FILE);
    const holder = spawn(process.execPath, ['--input-type=module', '--eval', `
      import { DatabaseSync } from 'node:sqlite';
      const db = new DatabaseSync(${JSON.stringify(path)});
      db.exec('BEGIN IMMEDIATE');
      console.log('locked');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, 4_000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await once(holder.stdout!, 'data');
      const started = performance.now();
      const failure = await store.add('k', 1, 0, 60_000).then(() => null, (error: unknown) => error);
      expect(unavailableDependency(failure)).toBe('database');
      expect(performance.now() - started).toBeLessThan(3_500);
    } finally {
      await once(holder, 'exit');
    }
    // The refused add left nothing behind: the next one is the first.
    expect(await store.add('k', 1, 0, 60_000)).toEqual({ points: 1, endsAt: 60_000 });
  });
});
