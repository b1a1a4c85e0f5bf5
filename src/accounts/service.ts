import type { ErrorCode } from '../error-codes.ts';
import { z } from 'zod';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { ACCOUNT_KEY_PREFIX, noConfigCache, type ConfigCache } from '../cache/config-cache.ts';
import { hashPassword, verifyPassword, needsRehash, decoyVerify, PASSWORD_MAX_LENGTH } from './password.ts';
import { createPasswordPolicy, type PasswordPolicy } from './password-policy.ts';
import { insertAuditEvent } from '../audit/repository.ts';
import type { AuditLog } from '../audit/service.ts';
import {
  findAccountByEmail, findAccountById, findAccountWithRolesById, insertAccount, listAccountsWithRoles, updateAccountDisabled, updateAccountPasswordHash,
  type Account,
} from './repository.ts';
import { findRoleNamesByAccountId, insertAccountRole, upsertRoleByName } from './roles-repository.ts';

export const emailSchema = z.string().trim().toLowerCase().pipe(z.email().max(254));
const optionalText = z.string().trim().min(1).max(200).nullish();

const newAccountSchema = z.object({
  email: emailSchema,
  password: z.string().nullish(),
  emailVerified: z.boolean().default(false),
  name: optionalText,
  givenName: optionalText,
  familyName: optionalText,
  picture: z.url({ protocol: /^https$/ }).nullish(),
  locale: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 language tag').nullish(),
  roles: z.array(z.string()).default([]),
});

export type NewAccountInput = z.input<typeof newAccountSchema>;

function parse<T>(schema: z.ZodType<T>, value: unknown, code: ErrorCode): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  throw new AppError(code, `${where}${issue.message}`);
}

export type AccountClaims = {
  sub: string;
  email: string;
  email_verified: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
  locale?: string;
  updated_at: number;
  roles: string[];
};

/** Why credentials were refused; for the audit log only, never shown (one message for all). */
export type CredentialFailure = 'unknown_email' | 'no_password' | 'bad_password' | 'disabled';
export type CredentialCheck = { ok: true; account: Account } | { ok: false; reason: CredentialFailure; account: Account | null };

export type AccountService = ReturnType<typeof createAccountService>;

/**
 * `audit`: where an operator's password change is recorded (with its webhooks); without it, the
 * event goes straight to the table (tests that build the service alone).
 */
export function createAccountService(db: Database, options: { passwordPolicy?: PasswordPolicy; audit?: () => Pick<AuditLog, 'record'>; cache?: () => ConfigCache } = {}) {
  const policy = options.passwordPolicy ?? createPasswordPolicy();
  const cache = options.cache ?? (() => noConfigCache);

  /** Throws account.invalid_password with what to change when the policy refuses the password. */
  function requireGoodPassword(password: string, email: string | null): void {
    const check = policy.check(password, { email });
    if (!check.ok) throw new AppError('account.invalid_password', check.message);
  }

  /** authenticate() with the reason for a refusal, for the audit log. Same timing either way. */
  async function checkCredentials(email: string, password: string): Promise<CredentialCheck> {
    const normalized = emailSchema.safeParse(email);
    const account = normalized.success ? await findAccountByEmail(db, normalized.data) : null;
    if (!account?.passwordHash || password.length > PASSWORD_MAX_LENGTH) {
      await decoyVerify(password.slice(0, PASSWORD_MAX_LENGTH));
      return { ok: false, reason: !account ? 'unknown_email' : account.passwordHash ? 'bad_password' : 'no_password', account };
    }
    const valid = await verifyPassword(account.passwordHash, password);
    if (!valid) return { ok: false, reason: 'bad_password', account };
    if (account.disabled) return { ok: false, reason: 'disabled', account };
    if (needsRehash(account.passwordHash)) {
      await updateAccountPasswordHash(db, account.id, await hashPassword(password));
    }
    return { ok: true, account };
  }

  async function requireByEmail(email: string): Promise<Account> {
    const account = await findAccountByEmail(db, parse(emailSchema, email, 'account.invalid_email'));
    if (!account) throw new AppError('account.not_found', `no account with email ${email}`);
    return account;
  }

  /**
   * What oidc-provider needs of an active account in one read: its claims, and the time
   * before which its sessions and tokens no longer count (null: never revoked).
   */
  async function forProvider(id: string): Promise<ProviderAccount | null> {
    const account = await findAccountWithRolesById(db, id);
    if (!account || account.disabled) return null;
    return Object.freeze({ claims: Object.freeze(toClaims(account)), sessionsValidAfter: account.sessionsValidAfter });
  }

  return {
    /**
     * The account for these credentials, or null. Unknown email, wrong password, no password and
     * a disabled account all return null after the same argon2 work, so callers show one message.
     */
    async authenticate(email: string, password: string): Promise<Account | null> {
      const check = await checkCredentials(email, password);
      return check.ok ? check.account : null;
    },

    checkCredentials,

    /** The password rules, for pages that check before doing more work. */
    passwordPolicy: policy,

    async create(input: NewAccountInput): Promise<Account & { roles: string[] }> {
      const data = parse(newAccountSchema, input, 'account.invalid');
      if (data.password) requireGoodPassword(data.password, data.email);
      const passwordHash = data.password ? await hashPassword(data.password) : null;
      return db.transaction(async (tx) => {
        const account = await insertAccount(tx, { ...data, passwordHash });
        for (const roleName of data.roles) {
          const role = await upsertRoleByName(tx, roleName);
          await insertAccountRole(tx, account.id, role.id);
        }
        return { ...account, roles: [...new Set(data.roles)].sort() };
      });
    },

    findById: (id: string): Promise<Account | null> => findAccountById(db, id),
    /** The account for an email, or null; a malformed email matches nothing. */
    async findByEmail(email: string): Promise<Account | null> {
      const normalized = emailSchema.safeParse(email);
      return normalized.success ? findAccountByEmail(db, normalized.data) : null;
    },
    list: (): Promise<Array<Account & { roles: string[] }>> => listAccountsWithRoles(db),
    rolesOf: (accountId: string): Promise<string[]> => findRoleNamesByAccountId(db, accountId),

    /** An operator sets a password (CLI); recorded in the audit log with the change. */
    async setPassword(email: string, password: string, context: { actor?: string } = {}): Promise<Account> {
      const account = await requireByEmail(email);
      requireGoodPassword(password, account.email);
      const hash = await hashPassword(password);
      await db.transaction(async (tx) => {
        await updateAccountPasswordHash(tx, account.id, hash);
        const event = { event: 'password.changed', reason: 'set_by_operator', accountId: account.id, email: account.email, details: context.actor ? { actor: context.actor } : null } as const;
        await (options.audit ? options.audit().record(event, tx) : insertAuditEvent(tx, event));
      });
      return account;
    },

    async setDisabled(email: string, disabled: boolean): Promise<Account> {
      const account = await requireByEmail(email);
      await updateAccountDisabled(db, account.id, disabled);
      return { ...account, disabled };
    },

    /** OIDC claims for an active account, or null when it is missing or disabled. */
    async claims(id: string): Promise<AccountClaims | null> {
      const claims = (await forProvider(id))?.claims;
      return claims ? { ...claims } : null;
    },

    /**
     * forProvider, remembered per instance: every refresh, userinfo and introspection asks for the
     * account, and it rarely changes. A change to the account (migration 0027) or to roles forgets
     * it on every instance (src/cache/config-cache.ts). The answer is frozen: callers share it.
     */
    forProvider: (id: string): Promise<ProviderAccount | null> => cache().get(ACCOUNT_KEY_PREFIX + id, () => forProvider(id)),
  };
}

/** What oidc-provider needs of an active account (see forProvider). */
export interface ProviderAccount {
  readonly claims: Readonly<AccountClaims>;
  readonly sessionsValidAfter: number | null;
}

function toClaims(account: Account & { roles: string[] }): AccountClaims {
  const claims: AccountClaims = {
    sub: account.id,
    email: account.email,
    email_verified: account.emailVerified,
    updated_at: Math.floor(account.updatedAt.getTime() / 1000),
    roles: account.roles,
  };
  if (account.name) claims.name = account.name;
  if (account.givenName) claims.given_name = account.givenName;
  if (account.familyName) claims.family_name = account.familyName;
  if (account.picture) claims.picture = account.picture;
  if (account.locale) claims.locale = account.locale;
  return claims;
}
