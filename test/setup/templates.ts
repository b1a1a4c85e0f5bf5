import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { connectPostgres } from '../../src/db/database.ts';

/**
 * Where this run's database templates go (test/helpers/templates.ts makes them, the first time a
 * test asks for a database): a directory for PGlite's, and a name prefix for PostgreSQL's.
 */
export interface TemplateRun {
  dir: string;
  /** Set when DATABASE_URL is: every template database of this run is named with it. */
  postgresPrefix: string | null;
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseTemplates: TemplateRun;
  }
}

/**
 * Allocates the run's place for templates and removes them at the end. Nothing is made here:
 * a run of files that need no database (mail, config) pays nothing for them.
 */
export default function setup(project: TestProject): () => Promise<void> {
  const base = process.env.DATABASE_URL;
  // Random, so two runs on one machine or one server (two checkouts, CI jobs) never share one.
  const run: TemplateRun = {
    dir: mkdtempSync(join(tmpdir(), 'idp-templates-')),
    postgresPrefix: base ? `idp_template_${randomBytes(6).toString('hex')}` : null,
  };
  project.provide('databaseTemplates', run);
  return async () => {
    if (base && run.postgresPrefix) {
      const admin = connectPostgres(base, 1);
      try {
        const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${run.postgresPrefix}%`]);
        for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      } finally {
        await admin.close();
      }
    }
    rmSync(run.dir, { recursive: true, force: true });
  };
}
