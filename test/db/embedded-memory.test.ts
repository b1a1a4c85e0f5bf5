import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEmbedded } from '../../src/db/embedded.ts';

describe('embedded database: memory', () => {
  it('creates a new data directory apart from this process and runs with small shared buffers', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idp-fresh-'));
    try {
      const db = await openEmbedded(dataDir, 'server');
      try {
        expect(existsSync(join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
        const { rows } = await db.query<{ shared_buffers: string }>('SHOW shared_buffers');
        expect(rows[0]?.shared_buffers).toBe('16MB');
        expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
      } finally {
        await db.close();
      }
      // And again, now that it exists: opened in this process directly, with the same settings.
      const again = await openEmbedded(dataDir, 'server');
      try {
        expect((await again.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]?.shared_buffers).toBe('16MB');
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
