import type { Command } from 'commander';
import type { Role } from '../../accounts/roles-repository.ts';
import type { CliContext } from '../context.ts';
import { emit, listOrNone, table } from '../output.ts';
import { loadUserView } from './user.ts';

export interface RoleView {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
}

const roleView = (role: Role): RoleView => ({ id: role.id, name: role.name, description: role.description, createdAt: role.createdAt.toISOString() });

export function registerRoleCommands(program: Command, ctx: CliContext): void {
  const role = program.command('role').description('manage roles (the "roles" claim)');

  role.command('create')
    .description('create a role')
    .requiredOption('--name <name>', 'role name: letters, digits and _ . : -')
    .option('--description <text>', 'what the role is for')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; description?: string; json?: boolean }) => {
      const view = roleView(await ctx.withDeps((deps) => deps.accounts.createRole(opts.name, opts.description)));
      emit(ctx.io, opts.json, view, `created role ${view.name}`);
    });

  role.command('grant')
    .description('grant an existing role to an account')
    .requiredOption('--email <email>', 'email address of the account')
    .requiredOption('--role <role>', 'role name')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; role: string; json?: boolean }) => {
      const user = await ctx.withDeps(async (deps) => {
        await deps.accounts.grantRole(opts.email, opts.role);
        const account = await deps.accounts.findByEmail(opts.email);
        if (!account) throw new Error(`account ${opts.email} vanished after the grant`);
        return loadUserView(deps.accounts, account);
      });
      emit(ctx.io, opts.json, user, `granted role ${opts.role} to ${user.email} (roles: ${listOrNone(user.roles)})`);
    });

  role.command('list')
    .description('list roles')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const roles = (await ctx.withDeps((deps) => deps.accounts.listRoles())).map(roleView);
      const human = roles.length ? table(['NAME', 'DESCRIPTION'], roles.map((r) => [r.name, r.description ?? ''])) : 'no roles';
      emit(ctx.io, opts.json, roles, human);
    });
}
