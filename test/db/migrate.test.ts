import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { migrate, readMigrations } from '../../src/db/migrate.ts';

describe('migrations', () => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase({ migrated: false });
  });
  afterAll(async () => test?.drop());

  it('applies every migration once even when two instances start together', async () => {
    const all = readMigrations();
    expect(all.map((m) => m.version)).toEqual([...all.map((m) => m.version)].sort());
    const [first, second] = await Promise.all([migrate(test.db), migrate(test.db)]);
    expect([...first!, ...second!].sort()).toEqual(all.map((m) => `${m.version}_${m.name}`));
    const { rows } = await test.db.query<{ count: string }>('SELECT count(*) FROM schema_migrations');
    expect(Number(rows[0]!.count)).toBe(all.length);
    expect(await migrate(test.db)).toEqual([]);
  });

  it('refuses to start when an applied migration file was edited', async () => {
    const edited = readMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'different' } : m));
    await expect(migrate(test.db, edited)).rejects.toThrow(/changed after it was applied/);
  });

  it('rolls back a failing migration completely', async () => {
    const broken = [...readMigrations(), { version: '9999', name: 'broken', checksum: 'x', sql: 'CREATE TABLE half_done (id int); SELECT * FROM no_such_table;' }];
    await expect(migrate(test.db, broken)).rejects.toThrow(/9999_broken.sql failed/);
    const { rows } = await test.db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
    expect(rows).toHaveLength(0);
  });
});
