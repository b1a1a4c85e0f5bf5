import { InvalidArgumentError, Option, type Command } from 'commander';
import { summarizeClient, type ClientSummary } from '../../clients/view.ts';
import { authMethods, supportedGrantTypes } from '../../clients/service.ts';
import { LEVELS, type Level } from '../../mfa/levels.ts';
import { AppError } from '../../errors.ts';
import type { CliContext } from '../context.ts';
import { collect, commaList } from '../options.ts';
import { emit, listOrNone, table } from '../output.ts';
import { addRoleSetOptions, chosenRoles, type RoleSetOptions } from './role-set.ts';

export type ClientView = ClientSummary;
export const clientView = summarizeClient;

type GrantType = (typeof supportedGrantTypes)[number];

function grantTypeList(value: string): GrantType[] {
  const names = commaList(value);
  const unknown = names.filter((name) => !(supportedGrantTypes as readonly string[]).includes(name));
  if (unknown.length) throw new InvalidArgumentError(`unknown grant type ${unknown.join(', ')} (choose from ${supportedGrantTypes.join(', ')})`);
  return names as GrantType[];
}

/** --metadata '<JSON object>': RFC 7591 client metadata fields, checked by the service and the provider. */
function metadataObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`not JSON (${(error as Error).message}); give one object, e.g. '{"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://app.example.com/jwks"}'`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError('must be one JSON object of client metadata fields');
  return parsed as Record<string, unknown>;
}

const METADATA_HELP = 'client metadata as one JSON object with RFC 7591 / OpenID Connect Registration field names, e.g. \'{"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://app.example.com/jwks"}\'';

/** What `client show` and `client update` print for a person. */
function describeClient(view: ClientView): string {
  const { client_id: _id, ...fields } = view.metadata;
  return [
    `${view.type} client ${view.id}${view.name ? ` (${view.name})` : ''}, authenticates with ${view.authMethod}`,
    `  grant types:   ${listOrNone(view.grantTypes)}`,
    `  redirect URIs: ${listOrNone(view.redirectUris)}`,
    `  metadata:      ${JSON.stringify(fields)}`,
  ].join('\n');
}

interface CreateOptions {
  id: string;
  secret?: string;
  public: boolean;
  redirectUri: string[];
  postLogoutRedirectUri: string[];
  grantTypes?: GrantType[];
  scope?: string;
  name?: string;
  authMethod?: (typeof authMethods)[number];
  minimumAcr?: Level;
  metadata?: Record<string, unknown>;
  json?: boolean;
}

export function registerClientCommands(program: Command, ctx: CliContext): void {
  const client = program.command('client').description('manage OAuth clients (relying parties)');

  client.command('create')
    .description('register a client; a confidential client without --secret gets a generated one, shown once')
    .requiredOption('--id <id>', 'client_id')
    .option('--secret <secret>', 'client secret (32+ characters); default: generated')
    .option('--public', 'a public client (SPA, mobile): no secret, PKCE only', false)
    .option('--redirect-uri <uri>', 'redirect URI (repeatable; needed for authorization_code)', collect, [])
    .option('--post-logout-redirect-uri <uri>', 'post-logout redirect URI (repeatable)', collect, [])
    .option('--grant-types <list>', `comma-separated: ${supportedGrantTypes.join(', ')} (default: authorization_code,refresh_token)`, grantTypeList)
    .option('--scope <scopes>', 'space-separated scopes the client may request')
    .option('--name <name>', 'client name shown on the consent page')
    .addOption(new Option('--auth-method <method>', 'token endpoint authentication of a confidential client').choices(authMethods))
    .addOption(new Option('--minimum-acr <level>', 'require this level of every sign-in to the client (mfa: a second factor; phishing-resistant: a passkey)').choices(LEVELS))
    .option('--metadata <json>', METADATA_HELP, metadataObject)
    .option('--json', 'print JSON')
    .action(async (opts: CreateOptions) => {
      const { client: created, secret } = await ctx.withDeps((deps) => deps.clients.create({
        id: opts.id,
        secret: opts.secret,
        // Named flags left out leave the field to --metadata or the default.
        public: opts.public || undefined,
        redirectUris: opts.redirectUri.length ? opts.redirectUri : undefined,
        postLogoutRedirectUris: opts.postLogoutRedirectUri.length ? opts.postLogoutRedirectUri : undefined,
        grantTypes: opts.grantTypes,
        scope: opts.scope,
        name: opts.name,
        authMethod: opts.authMethod,
        minimumAcr: opts.minimumAcr,
        metadata: opts.metadata,
      }));
      const view = clientView(created);
      const lines = [
        `created ${view.type} client ${view.id}${view.type === 'confidential' ? ` (${view.authMethod})` : ''}`,
        `  grant types:   ${listOrNone(view.grantTypes)}`,
        `  redirect URIs: ${listOrNone(view.redirectUris)}`,
      ];
      if (secret) lines.push(`client secret (shown only this once; store it now): ${secret}`);
      emit(ctx.io, opts.json, { ...view, secret }, lines.join('\n'));
    });

  client.command('update')
    .description("change a client's settings: only what is given changes; the whole client is checked again before it is stored")
    .requiredOption('--id <id>', 'client_id')
    .option('--name <name>', 'client name shown on the consent page')
    .option('--redirect-uri <uri>', 'redirect URI (repeatable; replaces the list)', collect, [])
    .option('--post-logout-redirect-uri <uri>', 'post-logout redirect URI (repeatable; replaces the list)', collect, [])
    .option('--grant-types <list>', `comma-separated: ${supportedGrantTypes.join(', ')}`, grantTypeList)
    .option('--scope <scopes>', 'space-separated scopes the client may request')
    .addOption(new Option('--auth-method <method>', 'token endpoint authentication of a confidential client').choices(authMethods))
    .addOption(new Option('--minimum-acr <level>', 'require this level of every sign-in to the client').choices(LEVELS))
    .option('--metadata <json>', `${METADATA_HELP}; null removes a field`, metadataObject)
    .option('--json', 'print JSON')
    .action(async (opts: Omit<CreateOptions, 'secret' | 'public'>) => {
      const updated = await ctx.withDeps((deps) => deps.clients.update(opts.id, {
        name: opts.name,
        redirectUris: opts.redirectUri.length ? opts.redirectUri : undefined,
        postLogoutRedirectUris: opts.postLogoutRedirectUri.length ? opts.postLogoutRedirectUri : undefined,
        grantTypes: opts.grantTypes,
        scope: opts.scope,
        authMethod: opts.authMethod,
        minimumAcr: opts.minimumAcr,
        metadata: opts.metadata,
      }));
      const view = clientView(updated);
      emit(ctx.io, opts.json, view, `updated ${describeClient(view)}`);
    });

  client.command('show')
    .description('show one client with all its metadata (never its secret)')
    .requiredOption('--id <id>', 'client_id')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; json?: boolean }) => {
      const view = clientView(await ctx.withDeps((deps) => deps.clients.get(opts.id)));
      emit(ctx.io, opts.json, view, describeClient(view));
    });

  client.command('secret')
    .description('give a confidential client a new random secret, shown once; the old one stops working at once')
    .requiredOption('--id <id>', 'client_id')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; json?: boolean }) => {
      const { client: rotated, secret } = await ctx.withDeps((deps) => deps.clients.rotateSecret(opts.id));
      emit(ctx.io, opts.json, { ...clientView(rotated), secret }, `new client secret for ${opts.id} (shown only this once; store it now): ${secret}`);
    });

  client.command('list')
    .description('list clients (secrets are never shown)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const clients = (await ctx.withDeps((deps) => deps.clients.list())).map(clientView);
      const human = clients.length
        ? table(['ID', 'NAME', 'TYPE', 'GRANT TYPES', 'REDIRECT URIS'], clients.map((c) => [c.id, c.name ?? '', c.type, c.grantTypes.join(','), c.redirectUris.join(' ')]))
        : 'no clients';
      emit(ctx.io, opts.json, clients, human);
    });

  addRoleSetOptions(
    client.command('roles')
      .description('replace the roles a client holds itself, for the client_credentials grant (every role must exist)')
      .requiredOption('--id <id>', 'client_id'),
    'client',
  )
    .option('--json', 'print JSON')
    .action(async function (this: Command, opts: RoleSetOptions & { id: string; json?: boolean }) {
      const roles = chosenRoles(this, opts);
      const result = await ctx.withDeps(async (deps) => {
        // With --none nothing would be inserted, so an unknown client would otherwise pass silently.
        if (!(await deps.clients.findMetadata(opts.id))) throw new AppError('client.not_found', `no client with id ${opts.id}`);
        await deps.rbac.setClientRoles(opts.id, roles);
        return { id: opts.id, roles: await deps.rbac.clientRoles(opts.id) };
      });
      emit(ctx.io, opts.json, result, `client ${result.id} now holds roles: ${listOrNone(result.roles)}`);
    });

  client.command('delete')
    .description('delete a client')
    .requiredOption('--id <id>', 'client_id')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; json?: boolean }) => {
      await ctx.withDeps((deps) => deps.clients.delete(opts.id));
      emit(ctx.io, opts.json, { id: opts.id, deleted: true }, `deleted client ${opts.id}`);
    });
}
