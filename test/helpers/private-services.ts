import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

/*
 * Private Redis and PostgreSQL servers for outage tests: started by the test on free ports,
 * stopped and started again at will, never the shared ones on 6379 and 5432.
 */

const which = (command: string): boolean => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
export const redisServerAvailable = which('redis-server');

const PG_BIN = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'].find((dir) => existsSync(join(dir, 'initdb')));
/** initdb refuses to run as root, so as root it runs as the postgres user. */
const asPostgres = process.getuid?.() === 0;
export const postgresServerAvailable = Boolean(PG_BIN) && (!asPostgres || spawnSync('id', ['postgres']).status === 0);

export interface PrivateService {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A Redis that writes every command to its append-only file, so a restart loses nothing committed. */
export async function startPrivateRedis(): Promise<PrivateService> {
  const dir = mkdtempSync(join(tmpdir(), 'idp-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const ping = () => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG';
  const service: PrivateService = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
      await waitFor(ping, 'private redis');
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      child = null;
    },
    async destroy() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await service.start();
  return service;
}

/** A PostgreSQL cluster of its own (initdb), trust auth, listening on a free port. */
export async function startPrivatePostgres(): Promise<PrivateService> {
  const dir = mkdtempSync(join(tmpdir(), 'idp-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  const run = (args: string[]) => {
    const [command, ...rest] = args;
    const result = asPostgres
      ? spawnSync('runuser', ['-u', 'postgres', '--', command!, ...rest], { encoding: 'utf8' })
      : spawnSync(command!, rest, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${args.join(' ')}: ${result.stderr || result.stdout}`);
  };
  if (asPostgres) spawnSync('chown', ['postgres', dir]);
  run([join(PG_BIN!, 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  const ready = () => spawnSync(join(PG_BIN!, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]).status === 0;
  const service: PrivateService = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      run([join(PG_BIN!, 'pg_ctl'), '-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
      await waitFor(ready, 'private postgres');
    },
    async stop() {
      run([join(PG_BIN!, 'pg_ctl'), '-D', data, '-w', '-m', 'fast', 'stop']);
    },
    async destroy() {
      try {
        await service.stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await service.start();
  return service;
}
