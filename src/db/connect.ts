import { connectPostgres, type Database } from './database.ts';
import type { DatabaseTimeouts } from './deadlines.ts';
import type { EmbeddedRole } from './embedded.ts';

/** PostgreSQL when a URL is configured, otherwise the embedded PGlite database under dataDir. */
export async function connectDatabase(options: { databaseUrl?: string | undefined; dataDir: string; role: EmbeddedRole; timeouts: DatabaseTimeouts }): Promise<Database> {
  if (options.databaseUrl) {
    const db = connectPostgres(options.databaseUrl, options.role === 'server' ? 10 : 2, options.timeouts);
    await db.query('select 1'); // fail fast with a clear connection error
    return db;
  }
  // Loaded only here: PGlite and its wire server are not needed on PostgreSQL (memory at start).
  const { openEmbedded } = await import('./embedded.ts');
  // The CLI runs one command at a time; a small pool leaves the server's connections alone.
  return openEmbedded(options.dataDir, options.role, { poolSize: options.role === 'server' ? 5 : 2, timeouts: options.timeouts });
}
