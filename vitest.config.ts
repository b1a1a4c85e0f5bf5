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
  },
});
