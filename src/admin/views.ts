import { z } from 'zod';
import type { Account } from '../accounts/repository.ts';

/** A user as the admin API shows it: never the password hash. */
export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  emailVerified: z.boolean(),
  name: z.string().nullable(),
  givenName: z.string().nullable(),
  familyName: z.string().nullable(),
  picture: z.string().nullable(),
  locale: z.string().nullable(),
  disabled: z.boolean(),
  hasPassword: z.boolean(),
  roles: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
}).meta({ id: 'User' });

export const userView = (account: Account & { roles: string[] }): z.infer<typeof userSchema> => ({
  id: account.id,
  email: account.email,
  emailVerified: account.emailVerified,
  name: account.name,
  givenName: account.givenName,
  familyName: account.familyName,
  picture: account.picture,
  locale: account.locale,
  disabled: account.disabled,
  hasPassword: account.passwordHash !== null,
  roles: account.roles,
  createdAt: account.createdAt.toISOString(),
  updatedAt: account.updatedAt.toISOString(),
});
