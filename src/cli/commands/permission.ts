import type { Command } from 'commander';
import type { Permission } from '../../rbac/repository.ts';
import type { CliContext } from '../context.ts';
import { emit, table } from '../output.ts';
import { permissionLabel } from './role.ts';

export interface PermissionView {
  id: string;
  indicator: string;
  name: string;
  description: string | null;
  createdAt: string;
}

const permissionView = (permission: Permission): PermissionView => ({
  id: permission.id,
  indicator: permission.indicator,
  name: permission.name,
  description: permission.description,
  createdAt: permission.createdAt.toISOString(),
});

export function registerPermissionCommands(program: Command, ctx: CliContext): void {
  const permission = program.command('permission').description('manage permissions: the scopes of an API resource that roles can grant');

  permission.command('create')
    .description('declare a permission; its name must be one of the resource\'s scopes')
    .requiredOption('--resource <indicator>', 'resource indicator of the API')
    .requiredOption('--name <name>', 'permission name: one of the resource\'s scopes')
    .option('--description <text>', 'what the permission allows')
    .option('--json', 'print JSON')
    .action(async (opts: { resource: string; name: string; description?: string; json?: boolean }) => {
      const view = permissionView(await ctx.withDeps((deps) => deps.rbac.createPermission({ indicator: opts.resource, name: opts.name, description: opts.description })));
      emit(ctx.io, opts.json, view, `created permission ${permissionLabel(view)}`);
    });

  permission.command('list')
    .description('list permissions')
    .option('--resource <indicator>', 'only the permissions of this API')
    .option('--json', 'print JSON')
    .action(async (opts: { resource?: string; json?: boolean }) => {
      const permissions = (await ctx.withDeps((deps) => deps.rbac.listPermissions(opts.resource))).map(permissionView);
      const human = permissions.length
        ? table(['RESOURCE', 'NAME', 'DESCRIPTION'], permissions.map((p) => [p.indicator, p.name, p.description ?? '']))
        : 'no permissions';
      emit(ctx.io, opts.json, permissions, human);
    });

  permission.command('delete')
    .description('delete a permission; roles holding it lose it')
    .requiredOption('--resource <indicator>', 'resource indicator of the API')
    .requiredOption('--name <name>', 'permission name')
    .option('--json', 'print JSON')
    .action(async (opts: { resource: string; name: string; json?: boolean }) => {
      await ctx.withDeps((deps) => deps.rbac.deletePermission(opts.resource, opts.name));
      emit(ctx.io, opts.json, { indicator: opts.resource, name: opts.name, deleted: true }, `deleted permission ${permissionLabel({ indicator: opts.resource, name: opts.name })}`);
    });
}
