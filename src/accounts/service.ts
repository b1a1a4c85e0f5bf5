import { z } from 'zod';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { hashPassword, verifyPassword, needsRehash, decoyVerify, PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH } from './password.ts';
import {
  findAccountByEmail, findAccountById, findAccountWithRolesById, insertAccount, listAccountsWithRoles, updateAccountDisabled, updateAccountPasswordHash,
  type Account,
} from './repository.ts';
import { findRoleNamesByAccountId, insertAccountRole, insertRole, upsertRoleByName, findRoleByName, listRoles, type Role } from './roles-repository.ts';

const emailSchema = z.string().trim().toLowerCase().pipe(z.email().max(254));
const passwordSchema = z.string().min(PASSWORD_MIN_LENGTH, `passwords need at least ${PASSWORD_MIN_LENGTH} characters`).max(PASSWORD_MAX_LENGTH, `passwords are at most ${PASSWORD_MAX_LENGTH} characters`);
const optionalText = z.string().trim().min(1).max(200).nullish();

const newAccountSchema = z.object({
  email: emailSchema,
  password: passwordSchema.nullish(),
  emailVerified: z.boolean().default(false),
  name: optionalText,
  givenName: optionalText,
  familyName: optionalText,
  picture: z.url({ protocol: /^https$/ }).nullish(),
  locale: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 language tag').nullish(),
  roles: z.array(z.string()).default([]),
});

export type NewAccountInput = z.input<typeof newAccountSchema>;

function parse<T>(schema: z.ZodType<T>, value: unknown, code: string): T {
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

export type AccountService = ReturnType<typeof createAccountService>;

export function createAccountService(db: Database) {
  async function requireByEmail(email: string): Promise<Account> {
    const account = await findAccountByEmail(db, parse(emailSchema, email, 'account.invalid_email'));
    if (!account) throw new AppError('account.not_found', `no account with email ${email}`, 404);
    return account;
  }

  return {
    /**
     * The account for these credentials, or null. Unknown email, wrong password, no password and
     * a disabled account all return null after the same argon2 work, so callers show one message.
     */
    async authenticate(email: string, password: string): Promise<Account | null> {
      const normalized = emailSchema.safeParse(email);
      const account = normalized.success ? await findAccountByEmail(db, normalized.data) : null;
      if (!account?.passwordHash || password.length > PASSWORD_MAX_LENGTH) {
        await decoyVerify(password.slice(0, PASSWORD_MAX_LENGTH));
        return null;
      }
      const valid = await verifyPassword(account.passwordHash, password);
      if (!valid || account.disabled) return null;
      if (needsRehash(account.passwordHash)) {
        await updateAccountPasswordHash(db, account.id, await hashPassword(password));
      }
      return account;
    },

    async create(input: NewAccountInput): Promise<Account & { roles: string[] }> {
      const data = parse(newAccountSchema, input, 'account.invalid');
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

    async setPassword(email: string, password: string): Promise<Account> {
      const hash = await hashPassword(parse(passwordSchema, password, 'account.invalid_password'));
      const account = await requireByEmail(email);
      await updateAccountPasswordHash(db, account.id, hash);
      return account;
    },

    async setDisabled(email: string, disabled: boolean): Promise<Account> {
      const account = await requireByEmail(email);
      await updateAccountDisabled(db, account.id, disabled);
      return { ...account, disabled };
    },

    /** OIDC claims for an active account, or null when it is missing or disabled. */
    async claims(id: string): Promise<AccountClaims | null> {
      const account = await findAccountWithRolesById(db, id);
      if (!account || account.disabled) return null;
      const { roles } = account;
      const claims: AccountClaims = {
        sub: account.id,
        email: account.email,
        email_verified: account.emailVerified,
        updated_at: Math.floor(account.updatedAt.getTime() / 1000),
        roles,
      };
      if (account.name) claims.name = account.name;
      if (account.givenName) claims.given_name = account.givenName;
      if (account.familyName) claims.family_name = account.familyName;
      if (account.picture) claims.picture = account.picture;
      if (account.locale) claims.locale = account.locale;
      return claims;
    },

    createRole: (name: string, description?: string | null): Promise<Role> => insertRole(db, name, description ?? null),
    listRoles: (): Promise<Role[]> => listRoles(db),

    async grantRole(email: string, roleName: string): Promise<void> {
      const account = await requireByEmail(email);
      const role = await findRoleByName(db, roleName);
      if (!role) throw new AppError('role.not_found', `no role named ${roleName}; create it with: idp role create --name ${roleName}`, 404);
      await insertAccountRole(db, account.id, role.id);
    },
  };
}
