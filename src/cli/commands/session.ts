import type { Command } from 'commander';
import type { AccountGrant, AccountSession } from '../../oidc/adapters/account-state.ts';
import type { CliContext } from '../context.ts';
import { emit, table } from '../output.ts';

const iso = (date: Date | null): string => date?.toISOString() ?? '';

/** A grant's scopes: the OpenID ones, then each API resource's as "indicator: scope scope". */
const grantScopes = (grant: AccountGrant): string =>
  [grant.scopes.join(' '), ...Object.entries(grant.resources).map(([indicator, scopes]) => `${indicator}: ${scopes.join(' ')}`)]
    .filter(Boolean)
    .join('; ');

/**
 * One table for both kinds, so the KIND column says which revoke command takes the id. A session
 * has no scopes of its own (its grants do); its LAST USED is when the user last signed in to it.
 */
function sessionTable(sessions: AccountSession[], grants: AccountGrant[]): string {
  return table(['KIND', 'ID', 'CLIENTS', 'SCOPES', 'CREATED', 'LAST USED'], [
    ...sessions.map((s) => ['session', s.id, s.clients.join(','), '', iso(s.createdAt), iso(s.loginAt)]),
    ...grants.map((g) => ['grant', g.id, g.clientId, grantScopes(g), iso(g.createdAt), iso(g.lastUsedAt)]),
  ]);
}

export function registerSessionCommands(program: Command, ctx: CliContext): void {
  const session = program.command('session').description("list and end an account's sessions and grants (and the tokens issued under them)");

  session.command('list')
    .description("list an account's live sessions and grants, newest first")
    .requiredOption('--email <email>', 'email address of the account')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; json?: boolean }) => {
      const state = await ctx.withDeps((deps) => deps.users.sessions({ email: opts.email }));
      const human = state.sessions.length || state.grants.length ? sessionTable(state.sessions, state.grants) : 'no sessions or grants';
      emit(ctx.io, opts.json, state, human);
    });

  session.command('revoke')
    .description('end one session and revoke the grants it authorized, with their tokens')
    .requiredOption('--email <email>', 'email address of the account')
    .requiredOption('--session <id>', 'session id, from session list')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; session: string; json?: boolean }) => {
      await ctx.withDeps((deps) => deps.users.revokeSession({ email: opts.email }, opts.session));
      emit(ctx.io, opts.json, { email: opts.email, session: opts.session, revoked: true }, `ended session ${opts.session} of ${opts.email}`);
    });

  session.command('revoke-grant')
    .description('revoke one grant and every token issued under it')
    .requiredOption('--email <email>', 'email address of the account')
    .requiredOption('--grant <id>', 'grant id, from session list')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; grant: string; json?: boolean }) => {
      await ctx.withDeps((deps) => deps.users.revokeGrant({ email: opts.email }, opts.grant));
      emit(ctx.io, opts.json, { email: opts.email, grant: opts.grant, revoked: true }, `revoked grant ${opts.grant} of ${opts.email}`);
    });

  session.command('revoke-all')
    .description('end every session and revoke every grant and token of an account')
    .requiredOption('--email <email>', 'email address of the account')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; json?: boolean }) => {
      const removed = await ctx.withDeps((deps) => deps.users.revokeAll({ email: opts.email }));
      emit(ctx.io, opts.json, { email: opts.email, removed }, `ended every session and grant of ${opts.email} (${removed} ${removed === 1 ? 'record' : 'records'} removed)`);
    });
}
