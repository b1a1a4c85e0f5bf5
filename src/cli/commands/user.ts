import type { Command } from 'commander';
import type { Account } from '../../accounts/repository.ts';
import type { AccountService } from '../../accounts/service.ts';
import type { CliContext } from '../context.ts';
import { collect } from '../options.ts';
import { emit, listOrNone, table } from '../output.ts';
import { addRoleSetOptions, chosenRoles, type RoleSetOptions } from './role-set.ts';
import { readPassword, type PasswordOptions } from '../password-input.ts';

/** What the CLI shows of an account: picked field by field so the password hash never leaks. */
export interface UserView {
  id: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
  disabled: boolean;
  roles: string[];
  createdAt: string;
}

export const userView = (account: Account, roles: string[]): UserView => ({
  id: account.id,
  email: account.email,
  emailVerified: account.emailVerified,
  name: account.name,
  disabled: account.disabled,
  roles,
  createdAt: account.createdAt.toISOString(),
});

export async function loadUserView(accounts: AccountService, account: Account): Promise<UserView> {
  return userView(account, await accounts.rolesOf(account.id));
}

const status = (user: UserView): string => (user.disabled ? 'disabled' : 'active');

export function registerUserCommands(program: Command, ctx: CliContext): void {
  const user = program.command('user').description('manage user accounts');

  user.command('create')
    .description('create an account with a password')
    .requiredOption('--email <email>', 'email address (the sign-in name)')
    .option('--password <password>', 'initial password (or --password-stdin)')
    .option('--password-stdin', 'read the password from standard input (one trailing line break is dropped)')
    .option('--name <name>', 'display name')
    .option('--role <role>', 'role to grant, created when missing (repeatable)', collect, [])
    .option('--verified', 'mark the email address as verified', false)
    .option('--json', 'print JSON')
    .action(async (opts: PasswordOptions & { email: string; name?: string; role: string[]; verified: boolean; json?: boolean }) => {
      const password = await readPassword(opts, ctx.io);
      const created = await ctx.withDeps((deps) => deps.accounts.create({
        email: opts.email, password, name: opts.name ?? null, roles: opts.role, emailVerified: opts.verified,
      }));
      const view = userView(created, created.roles);
      emit(ctx.io, opts.json, view, `created user ${view.email} (id ${view.id}, roles: ${listOrNone(view.roles)})`);
    });

  user.command('list')
    .description('list accounts')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const users = (await ctx.withDeps((deps) => deps.accounts.list())).map((account) => userView(account, account.roles));
      const human = users.length
        ? table(['EMAIL', 'NAME', 'ROLES', 'VERIFIED', 'STATUS', 'ID'], users.map((u) => [u.email, u.name ?? '', u.roles.join(','), u.emailVerified ? 'yes' : 'no', status(u), u.id]))
        : 'no users';
      emit(ctx.io, opts.json, users, human);
    });

  user.command('set-password')
    .description("replace an account's password")
    .requiredOption('--email <email>', 'email address of the account')
    .option('--password <password>', 'new password (or --password-stdin)')
    .option('--password-stdin', 'read the password from standard input (one trailing line break is dropped)')
    .option('--json', 'print JSON')
    .action(async (opts: PasswordOptions & { email: string; json?: boolean }) => {
      const password = await readPassword(opts, ctx.io);
      const view = await ctx.withDeps(async (deps) => loadUserView(deps.accounts, await deps.accounts.setPassword(opts.email, password)));
      emit(ctx.io, opts.json, view, `password changed for ${view.email}`);
    });

  for (const [name, disabled] of [['disable', true], ['enable', false]] as const) {
    user.command(name)
      .description(disabled ? 'stop an account from signing in; ends its sessions and revokes its grants and tokens' : 'let a disabled account sign in again')
      .requiredOption('--email <email>', 'email address of the account')
      .option('--json', 'print JSON')
      .action(async (opts: { email: string; json?: boolean }) => {
        const account = await ctx.withDeps((deps) => deps.users.setDisabled({ email: opts.email }, disabled, 'cli'));
        const view = userView(account, account.roles);
        emit(ctx.io, opts.json, view, `${disabled ? 'disabled' : 'enabled'} ${view.email}`);
      });
  }

  addRoleSetOptions(
    user.command('roles')
      .description('replace the roles an account holds directly (every role must exist)')
      .requiredOption('--email <email>', 'email address of the account'),
    'account',
  )
    .option('--json', 'print JSON')
    .action(async function (this: Command, opts: RoleSetOptions & { email: string; json?: boolean }) {
      const roles = chosenRoles(this, opts);
      const account = await ctx.withDeps((deps) => deps.users.setRoles({ email: opts.email }, roles));
      const view = userView(account, account.roles);
      emit(ctx.io, opts.json, view, `${view.email} now holds roles: ${listOrNone(view.roles)}`);
    });

  user.command('delete')
    .description('delete an account after ending its sessions and revoking its grants and tokens')
    .requiredOption('--email <email>', 'email address of the account')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; json?: boolean }) => {
      const account = await ctx.withDeps(async (deps) => {
        const found = await deps.users.find({ email: opts.email });
        await deps.users.delete({ id: found.id }, 'cli');
        return found;
      });
      emit(ctx.io, opts.json, { id: account.id, email: account.email, deleted: true }, `deleted user ${account.email}`);
    });

  user.command('identities')
    .description('list the Google, GitHub or OIDC identities linked to an account')
    .requiredOption('--email <email>', 'email address of the account')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; json?: boolean }) => {
      const identities = (await ctx.withDeps((deps) => deps.federation.identities(opts.email))).map((identity) => ({
        upstream: identity.upstreamId,
        subject: identity.subject,
        emailAtLink: identity.email,
        createdAt: identity.createdAt.toISOString(),
        lastUsedAt: identity.lastUsedAt.toISOString(),
      }));
      const human = identities.length
        ? table(['UPSTREAM', 'SUBJECT', 'EMAIL AT LINK', 'LINKED', 'LAST USED'], identities.map((i) => [i.upstream, i.subject, i.emailAtLink ?? '', i.createdAt, i.lastUsedAt]))
        : 'no linked identities';
      emit(ctx.io, opts.json, identities, human);
    });

  user.command('unlink')
    .description('remove the link between an account and its identity at an upstream')
    .requiredOption('--email <email>', 'email address of the account')
    .requiredOption('--upstream <id>', 'upstream id, as in the configuration (google, github, ...)')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; upstream: string; json?: boolean }) => {
      await ctx.withDeps((deps) => deps.federation.unlink(opts.email, opts.upstream));
      emit(ctx.io, opts.json, { email: opts.email, upstream: opts.upstream, unlinked: true }, `unlinked ${opts.upstream} from ${opts.email}`);
    });

  const mfa = user.command('mfa').description("a person's second factors: authenticator apps, passkeys, recovery codes");
  mfa.command('list')
    .description('list the second factors of an account (never their secrets)')
    .requiredOption('--email <email>', 'email address of the account')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; json?: boolean }) => {
      const listed = await ctx.withDeps((deps) => deps.mfaAdmin.list({ email: opts.email }));
      const factors = listed.factors.map((factor) => ({ ...factor, createdAt: factor.createdAt.toISOString(), lastUsedAt: factor.lastUsedAt?.toISOString() ?? null }));
      const human = [
        factors.length
          ? table(['KIND', 'NAME', 'CONFIRMED', 'CREATED', 'LAST USED', 'ID'], factors.map((f) => [f.kind, f.name, f.confirmed ? 'yes' : 'no', f.createdAt, f.lastUsedAt ?? '', f.id]))
          : 'no second factors',
        `recovery codes left: ${listed.recoveryCodesLeft}`,
      ].join('\n');
      emit(ctx.io, opts.json, { email: listed.email, factors, recoveryCodesLeft: listed.recoveryCodesLeft }, human);
    });
  mfa.command('reset')
    .description('remove one second factor (--factor), or all of them and the recovery codes, for someone who lost a device')
    .requiredOption('--email <email>', 'email address of the account')
    .option('--factor <id>', 'only this factor (its id from `idp user mfa list`)')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; factor?: string; json?: boolean }) => {
      const { removed } = await ctx.withDeps((deps) => deps.mfaAdmin.reset({ email: opts.email }, opts.factor, 'cli'));
      emit(ctx.io, opts.json, { email: opts.email, removed }, `removed ${removed} second factor${removed === 1 ? '' : 's'} of ${opts.email}`);
    });
}
