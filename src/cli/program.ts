import { Command } from 'commander';
import type { CliContext } from './context.ts';
import { registerUserCommands } from './commands/user.ts';
import { registerRoleCommands } from './commands/role.ts';
import { registerPermissionCommands } from './commands/permission.ts';
import { registerClientCommands } from './commands/client.ts';
import { registerResourceCommands } from './commands/resource.ts';
import { registerSessionCommands } from './commands/session.ts';
import { registerAuditCommands } from './commands/audit.ts';
import { registerMigrateCommand } from './commands/migrate.ts';
import { registerKeyCommands } from './commands/keys.ts';
import { registerWebhookCommands } from './commands/webhook.ts';

/**
 * The `idp` command tree. Commander throws instead of exiting and prints no errors itself, so
 * run() decides the exit code and prints one line; subcommands inherit both settings because
 * they are created with `.command()` after these are set.
 */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('idp')
    .description('administer the identity provider: users, roles, permissions, clients, API resources, sessions, audit trail, webhooks, signing keys, database')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout(text),
      // Only help shown after an error reaches here; run() prints a one-line hint instead.
      writeErr: () => undefined,
      outputError: () => undefined,
    });
  // Which command runs, for the audit of configuration changes (src/cli/context.ts).
  program.hook('preAction', (_program, action) => {
    const words: string[] = [];
    for (let command: Command | null = action; command && command !== program; command = command.parent) words.unshift(command.name());
    ctx.command = words;
  });
  registerUserCommands(program, ctx);
  registerRoleCommands(program, ctx);
  registerPermissionCommands(program, ctx);
  registerClientCommands(program, ctx);
  registerResourceCommands(program, ctx);
  registerSessionCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerKeyCommands(program, ctx);
  registerWebhookCommands(program, ctx);
  registerMigrateCommand(program, ctx);
  return program;
}
