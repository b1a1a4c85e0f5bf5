import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export type Env = Record<string, string | undefined>;

/** The real `idp` command in a child process. */
export function spawnIdp(args: string[], env: Env): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['src/cli/main.ts', ...args], { cwd: repoRoot, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment of a CLI joining the given database (embedded: over its socket), nothing else. */
export function childEnv(settings: { databaseUrl?: string; dataDir: string }): Env {
  const env: Env = { ...process.env, DATA_DIR: settings.dataDir, LOG_LEVEL: 'silent' };
  delete env.REDIS_URL;
  delete env.IDP_CONFIG;
  delete env.NODE_ENV;
  if (settings.databaseUrl) env.DATABASE_URL = settings.databaseUrl;
  else delete env.DATABASE_URL;
  return env;
}
