import type { Command } from 'commander';
import type { ApiResource } from '../../resources/repository.ts';
import { splitScopes } from '../../resources/service.ts';
import type { CliContext } from '../context.ts';
import { wholeNumber } from '../options.ts';
import { emit, listOrNone, table } from '../output.ts';

export interface ResourceView {
  indicator: string;
  name: string | null;
  scopes: string[];
  accessTokenTtl: number;
  createdAt: string;
}

const resourceView = (resource: ApiResource): ResourceView => ({
  indicator: resource.indicator,
  name: resource.name,
  scopes: resource.scopes,
  accessTokenTtl: resource.accessTokenTtl,
  createdAt: resource.createdAt.toISOString(),
});

export function registerResourceCommands(program: Command, ctx: CliContext): void {
  const resource = program.command('resource').description('manage API resources (RFC 8707 resource indicators) and client grants');

  resource.command('create')
    .description('register an API that receives JWT access tokens')
    .requiredOption('--indicator <uri>', 'resource indicator: an absolute URI without a fragment')
    .requiredOption('--scopes <scopes>', 'space-separated scopes the API defines, e.g. "read write"')
    .option('--ttl <seconds>', 'access token lifetime in seconds (default 3600)', wholeNumber)
    .option('--name <name>', 'display name')
    .option('--json', 'print JSON')
    .action(async (opts: { indicator: string; scopes: string; ttl?: number; name?: string; json?: boolean }) => {
      const view = resourceView(await ctx.withDeps((deps) => deps.resources.create({
        indicator: opts.indicator, scopes: splitScopes(opts.scopes), ttl: opts.ttl, name: opts.name,
      })));
      emit(ctx.io, opts.json, view, `created resource ${view.indicator} (scopes: ${listOrNone(view.scopes)}; access tokens live ${view.accessTokenTtl} s)`);
    });

  resource.command('grant')
    .description("set which of a resource's scopes a client may receive (replaces an earlier grant)")
    .requiredOption('--client <id>', 'client_id')
    .requiredOption('--indicator <uri>', 'resource indicator')
    .requiredOption('--scopes <scopes>', 'space-separated scopes, e.g. "read"')
    .option('--json', 'print JSON')
    .action(async (opts: { client: string; indicator: string; scopes: string; json?: boolean }) => {
      const scopes = splitScopes(opts.scopes);
      await ctx.withDeps((deps) => deps.resources.grant(opts.client, opts.indicator, scopes));
      emit(ctx.io, opts.json, { client: opts.client, indicator: opts.indicator, scopes }, `client ${opts.client} may now receive ${listOrNone(scopes)} for ${opts.indicator}`);
    });

  resource.command('list')
    .description('list resources')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const resources = (await ctx.withDeps((deps) => deps.resources.list())).map(resourceView);
      const human = resources.length
        ? table(['INDICATOR', 'NAME', 'SCOPES', 'TTL'], resources.map((r) => [r.indicator, r.name ?? '', r.scopes.join(' '), String(r.accessTokenTtl)]))
        : 'no resources';
      emit(ctx.io, opts.json, resources, human);
    });
}
