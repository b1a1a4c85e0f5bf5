import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from '../helpers/ports.ts';
import { fileURLToPath } from 'node:url';
import { createTestDatabaseSettings } from '../helpers/database.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));


describe('npm start: the real process', async () => {
  // Unmigrated: the process applies every migration itself, as on a first start. (The database
  // is initdb'd already: creating one is what this run's template setup did, through the same
  // openEmbedded.)
  const fresh = await createTestDatabaseSettings({ migrated: false });
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const children: ChildProcess[] = [];

  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: fresh.settings.dataDir, LOG_LEVEL: 'info', REDIS_KEY_PREFIX: `idp-start:${port}:` };
  delete env.ISSUER;
  delete env.NODE_ENV;
  if (fresh.settings.databaseUrl) env.DATABASE_URL = fresh.settings.databaseUrl;
  else delete env.DATABASE_URL;

  async function start(): Promise<{ child: ChildProcess; output: () => string }> {
    const started = performance.now();
    const child = spawn(process.execPath, ['src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${output}`);
      const ok = await fetch(`${base}/.well-known/openid-configuration`).then((r) => r.ok, () => false);
      if (ok) return { child, output: () => output };
      if (performance.now() - started > 60_000) throw new Error(`not serving after 60 s: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function stop(child: ChildProcess): Promise<void> {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await fresh.drop();
  });

  // How fast it starts is the benchmark's business (bench/), not a bound that fails on a busy machine.
  it('serves discovery after a first start; users, clients and keys survive a restart', async () => {
    const first = await start();
    const discovery = await (await fetch(`${base}/.well-known/openid-configuration`)).json() as { issuer: string };
    expect(discovery.issuer).toBe(base);
    const keysBefore = await (await fetch(`${base}/jwks`)).json() as { keys: Array<{ kid: string; alg: string; d?: string }> };
    expect(keysBefore.keys.map((key) => key.alg).sort()).toEqual(['ES256', 'RS256']);
    expect(keysBefore.keys.every((key) => key.d === undefined)).toBe(true); // public halves only

    // The CLI works while the server runs (embedded: it joins the server's database socket).
    const cli = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['src/cli/main.ts', ...args, '--json'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.stderr.on('data', (chunk) => (out += chunk));
      child.on('exit', (code) => resolve({ code, out }));
    });
    expect((await cli(['user', 'create', '--email', 'kept@example.com', '--password', 'kept-password'])).code).toBe(0);
    expect((await cli(['client', 'create', '--id', 'kept-client', '--redirect-uri', 'https://rp.example.com/cb'])).code).toBe(0);
    await stop(first.child);
    expect(first.output()).toMatch(/identity provider listening/);

    const second = await start();
    const keysAfter = await (await fetch(`${base}/jwks`)).json() as { keys: Array<{ kid: string }> };
    expect(keysAfter.keys.map((key) => key.kid)).toEqual(keysBefore.keys.map((key) => key.kid));
    const users = await cli(['user', 'list']);
    expect(users.out).toContain('kept@example.com');
    const clients = await cli(['client', 'list']);
    expect(clients.out).toContain('kept-client');
    await stop(second.child);
  }, 240_000);

  it('refuses to start in production with development defaults, saying what to set', async () => {
    const child = spawn(process.execPath, ['src/main.ts'], { cwd: root, env: { ...env, NODE_ENV: 'production', DATABASE_URL: '', ISSUER: 'http://id.example.com' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(err).toMatch(/DATABASE_URL/);
    expect(err).toMatch(/COOKIE_KEYS/);
    expect(err).not.toMatch(/\n\s+at /); // one message, no stack trace
  });
});
