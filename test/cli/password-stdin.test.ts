import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createAccountService } from '../../src/accounts/service.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the idp command with `input` on its standard input. */
function idp(args: string[], env: Record<string, string | undefined>, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['src/cli/main.ts', ...args], { cwd: repoRoot, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

describe('idp user create | set-password --password-stdin', { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = { ...process.env, DATA_DIR: database.settings.dataDir, LOG_LEVEL: 'silent', REDIS_URL: undefined, IDP_CONFIG: undefined, NODE_ENV: undefined, DATABASE_URL: database.settings.databaseUrl };
    // Owned by this test process: the CLI joins it over the socket, as it joins a running server.
  });
  afterAll(async () => database?.drop());

  it('reads the password from standard input, dropping one trailing line break only', async () => {
    const created = await idp(['user', 'create', '--email', 'stdin@example.com', '--password-stdin', '--json'], env, 'a passphrase with  spaces \n');
    expect(created.code, created.stderr).toBe(0);
    const accounts = createAccountService(database.db);
    expect((await accounts.authenticate('stdin@example.com', 'a passphrase with  spaces '))?.email).toBe('stdin@example.com');

    const changed = await idp(['user', 'set-password', '--email', 'stdin@example.com', '--password-stdin'], env, 'another long passphrase\r\n');
    expect(changed.code, changed.stderr).toBe(0);
    expect(await accounts.authenticate('stdin@example.com', 'another long passphrase')).not.toBeNull();
    expect(await accounts.authenticate('stdin@example.com', 'a passphrase with  spaces ')).toBeNull();
  });

  it('exits 2 with one line when no password, an empty one, or both ways are given', async () => {
    const results = await Promise.all([
      idp(['user', 'create', '--email', 'none@example.com'], env),
      idp(['user', 'create', '--email', 'empty@example.com', '--password-stdin'], env, '\n'),
      idp(['user', 'set-password', '--email', 'stdin@example.com', '--password', 'x'.repeat(12), '--password-stdin'], env, 'y'.repeat(12)),
    ]);
    for (const result of results) {
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^idp: [^\n]*password[^\n]*\n$/);
    }
  });
});
