import type { Command } from 'commander';
import type { RoleDetails } from '../../rbac/repository.ts';
import type { CliContext } from '../context.ts';
import { emit, listOrNone, table } from '../output.ts';
import { loadUserView } from './user.ts';

/** A role as the CLI shows it: the roles it includes directly and the permissions granted to it directly. */
export interface RoleView {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  composites: string[];
  permissions: Array<{ indicator: string; name: string }>;
}

export const roleView = (role: RoleDetails): RoleView => ({
  id: role.id,
  name: role.name,
  description: role.description,
  createdAt: role.createdAt.toISOString(),
  composites: role.composites,
  permissions: role.permissions,
});

/** "read on https://api.example.com": the wording the service's own messages use. */
export const permissionLabel = (permission: { indicator: string; name: string }): string => `${permission.name} on ${permission.indicator}`;

const permissionsOf = (role: RoleView): string => listOrNone(role.permissions.map(permissionLabel));

function describeRole(role: RoleView): string {
  return [
    `role ${role.name}${role.description ? ` (${role.description})` : ''}`,
    `  includes:    ${listOrNone(role.composites)}`,
    `  permissions: ${permissionsOf(role)}`,
  ].join('\n');
}

export function registerRoleCommands(program: Command, ctx: CliContext): void {
  const role = program.command('role').description('manage roles (the "roles" claim), the roles they include and the permissions they grant');

  role.command('create')
    .description('create a role')
    .requiredOption('--name <name>', 'role name: letters, digits and _ . : -')
    .option('--description <text>', 'what the role is for')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; description?: string; json?: boolean }) => {
      const view = roleView(await ctx.withDeps((deps) => deps.rbac.createRole({ name: opts.name, description: opts.description })));
      emit(ctx.io, opts.json, view, `created role ${view.name}`);
    });

  role.command('grant')
    .description('grant an existing role to an account (keeps its other roles; see user roles to replace them)')
    .requiredOption('--email <email>', 'email address of the account')
    .requiredOption('--role <role>', 'role name')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; role: string; json?: boolean }) => {
      const user = await ctx.withDeps(async (deps) => {
        const account = await deps.users.find({ email: opts.email });
        await deps.rbac.grantAccountRole(account.id, opts.role);
        return loadUserView(deps.accounts, account);
      });
      emit(ctx.io, opts.json, user, `granted role ${opts.role} to ${user.email} (roles: ${listOrNone(user.roles)})`);
    });

  role.command('list')
    .description('list roles')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const roles = (await ctx.withDeps((deps) => deps.rbac.listRoles())).map(roleView);
      const human = roles.length
        ? table(['NAME', 'DESCRIPTION', 'INCLUDES', 'PERMISSIONS'], roles.map((r) => [r.name, r.description ?? '', r.composites.join(','), r.permissions.map(permissionLabel).join(', ')]))
        : 'no roles';
      emit(ctx.io, opts.json, roles, human);
    });

  role.command('show')
    .description('show a role: its description, the roles it includes and its permissions (direct ones only)')
    .requiredOption('--name <name>', 'role name')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; json?: boolean }) => {
      const view = roleView(await ctx.withDeps((deps) => deps.rbac.getRole(opts.name)));
      emit(ctx.io, opts.json, view, describeRole(view));
    });

  role.command('delete')
    .description('delete a role; accounts and clients holding it lose it, roles including it stop doing so')
    .requiredOption('--name <name>', 'role name')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; json?: boolean }) => {
      await ctx.withDeps((deps) => deps.rbac.deleteRole(opts.name));
      emit(ctx.io, opts.json, { name: opts.name, deleted: true }, `deleted role ${opts.name}`);
    });

  role.command('include')
    .description('make a role include another (whoever holds the first holds both); refuses cycles')
    .requiredOption('--name <parent>', 'the including role')
    .requiredOption('--role <child>', 'the role it includes')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; role: string; json?: boolean }) => {
      const view = roleView(await ctx.withDeps((deps) => deps.rbac.addComposite(opts.name, opts.role)));
      emit(ctx.io, opts.json, view, `${view.name} now includes ${opts.role} (includes: ${listOrNone(view.composites)})`);
    });

  role.command('exclude')
    .description('stop a role including another')
    .requiredOption('--name <parent>', 'the including role')
    .requiredOption('--role <child>', 'the role it includes')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; role: string; json?: boolean }) => {
      const view = roleView(await ctx.withDeps((deps) => deps.rbac.removeComposite(opts.name, opts.role)));
      emit(ctx.io, opts.json, view, `${view.name} no longer includes ${opts.role} (includes: ${listOrNone(view.composites)})`);
    });

  for (const [name, granting] of [['permit', true], ['forbid', false]] as const) {
    role.command(name)
      .description(granting ? 'grant a role a permission of an API resource' : 'take a permission away from a role')
      .requiredOption('--name <name>', 'role name')
      .requiredOption('--resource <indicator>', 'resource indicator of the API')
      .requiredOption('--permission <name>', 'permission name (one of the resource\'s scopes)')
      .option('--json', 'print JSON')
      .action(async (opts: { name: string; resource: string; permission: string; json?: boolean }) => {
        const view = roleView(await ctx.withDeps((deps) => granting
          ? deps.rbac.grantPermission(opts.name, opts.resource, opts.permission)
          : deps.rbac.revokePermission(opts.name, opts.resource, opts.permission)));
        const label = permissionLabel({ indicator: opts.resource, name: opts.permission });
        emit(ctx.io, opts.json, view, `${view.name} ${granting ? 'now holds' : 'no longer holds'} ${label} (permissions: ${permissionsOf(view)})`);
      });
  }
}
