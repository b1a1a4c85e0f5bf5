import type { Logger } from '../log.ts';
import type { Config } from '../config/schema.ts';
import type { Deps } from '../deps.ts';
import { loadConfig } from '../config/load.ts';

type Env = Record<string, string | undefined>;

/** Where a command writes: stdout for its result, stderr for everything else. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of standard input, for --password-stdin; absent where there is none to read. */
  stdin?(): Promise<string>;
}

export interface CliContext {
  io: CliIo;
  /** Opens the services, runs fn and always closes them again, releasing the embedded database lock. */
  withDeps<T>(fn: (deps: Deps) => Promise<T>): Promise<T>;
  /** Applies pending migrations and returns the names of those it applied. */
  migrate(): Promise<string[]>;
  /** The command being run, as words (['client', 'create']); set by the program before it runs. */
  command: string[];
}

/**
 * Commands that change clients, roles, permissions or API resources: audited as `admin.changed`
 * once they succeed (the other groups' commands record events of their own).
 */
const CONFIGURATION_GROUPS = new Set(['client', 'role', 'resource', 'permission']);
const READS = new Set(['list', 'show']);
const changesConfiguration = (command: string[]) => command.length === 2 && CONFIGURATION_GROUPS.has(command[0]!) && !READS.has(command[1]!);

/**
 * Logs go to stderr so stdout holds only the command's result (`--json` output stays parseable).
 * The CLI is quiet by default: warnings and errors only, unless LOG_LEVEL asks for more.
 */
async function createCliLogger(config: Config, env: Env): Promise<Logger> {
  const { pino } = await import('pino');
  return pino({ level: env.LOG_LEVEL ? config.logLevel : 'warn', base: undefined }, pino.destination({ dest: 2, sync: true }));
}

export function createCliContext(options: { env: Env; cwd: string; io: CliIo }): CliContext {
  const { env, cwd, io } = options;
  const context: CliContext = {
    io,
    command: [],
    async withDeps(fn) {
      const config = loadConfig(env, cwd);
      // Loaded on demand so `--help` and usage errors answer without loading the provider.
      const { buildDeps } = await import('../deps.ts');
      const deps = await buildDeps(config, { role: 'cli', logger: await createCliLogger(config, env) });
      try {
        const result = await fn(deps);
        if (changesConfiguration(context.command)) {
          await deps.audit.record({ event: 'admin.changed', reason: context.command[0]!, details: { operation: `idp ${context.command.join(' ')}`, actor: 'cli' } });
        }
        return result;
      } finally {
        await deps.close();
      }
    },
    async migrate() {
      const config = loadConfig(env, cwd);
      // buildDeps migrates as it connects and keeps the names to itself; connecting directly
      // lets this command report what it applied, without generating keys or building a provider.
      const [{ connectDatabase }, { migrate }] = await Promise.all([import('../db/connect.ts'), import('../db/migrate.ts')]);
      const db = await connectDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, role: 'cli', timeouts: config.timeouts });
      try {
        return await migrate(db);
      } finally {
        await db.close();
      }
    },
  };
  return context;
}
