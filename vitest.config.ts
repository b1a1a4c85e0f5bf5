import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end files start a whole provider (and argon2 is deliberately slow), and the CLI
    // tests start a process per command (about a second each on a slow 2-core machine, more
    // while another file runs beside them): give them room, and keep the worker count at what
    // a 2-core CI machine sustains.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // Test databases are copies of one template made per run, not an initdb (PGlite) or a full
    // migration (PostgreSQL) per file: test/helpers/templates.ts; this allocates and removes them.
    globalSetup: ['test/setup/templates.ts'],
  },
});
