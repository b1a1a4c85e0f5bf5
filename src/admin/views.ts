import { z } from 'zod';
import { summarizeClient } from '../clients/view.ts';
import type { Account } from '../accounts/repository.ts';
import type { StoredClient } from '../clients/repository.ts';
import type { Permission, RoleDetails } from '../rbac/repository.ts';
import type { ApiResource } from '../resources/repository.ts';

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

/** A role with what it includes and grants directly (not what it reaches through composites). */
export const roleSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string().nullable(),
  composites: z.array(z.string()).meta({ description: 'roles this role includes directly' }),
  permissions: z.array(z.object({ id: z.uuid(), indicator: z.string(), name: z.string() })).meta({ description: 'permissions granted to this role directly' }),
  createdAt: z.string(),
}).meta({ id: 'Role' });

export const roleView = (role: RoleDetails): z.infer<typeof roleSchema> => ({
  id: role.id,
  name: role.name,
  description: role.description,
  composites: role.composites,
  permissions: role.permissions.map((permission) => ({ id: permission.id, indicator: permission.indicator, name: permission.name })),
  createdAt: role.createdAt.toISOString(),
});

/** A permission: one scope of one API resource, which roles can hold. */
export const permissionSchema = z.object({
  id: z.uuid(),
  resource: z.string().meta({ description: 'the API resource indicator' }),
  name: z.string().meta({ description: 'the scope' }),
  description: z.string().nullable(),
  createdAt: z.string(),
}).meta({ id: 'Permission' });

export const permissionView = (permission: Permission): z.infer<typeof permissionSchema> => ({
  id: permission.id,
  resource: permission.indicator,
  name: permission.name,
  description: permission.description,
  createdAt: permission.createdAt.toISOString(),
});

/** A client as the admin API shows it: picked key by key, so the secret never appears. */
export const clientSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  type: z.enum(['public', 'confidential']),
  authMethod: z.string(),
  grantTypes: z.array(z.string()),
  redirectUris: z.array(z.string()),
  postLogoutRedirectUris: z.array(z.string()),
  scope: z.string().nullable(),
  minimumAcr: z.string().nullable().meta({ description: 'the level every sign-in to this client must reach (password, mfa, phishing-resistant), or null' }),
  metadata: z.record(z.string(), z.unknown()).meta({ description: 'every client metadata field (RFC 7591 / OpenID Connect Registration names) as the provider loads it; never the secret' }),
  roles: z.array(z.string()).meta({ description: 'roles the client holds directly (for its client-credentials tokens)' }),
  createdAt: z.string(),
  updatedAt: z.string(),
}).meta({ id: 'Client' });

export const clientView = (client: StoredClient, roles: string[]): z.infer<typeof clientSchema> => ({
  ...summarizeClient(client),
  roles,
  updatedAt: client.updatedAt.toISOString(),
});

/** A client with its secret: only in the answer that created or rotated the secret. */
export const clientWithSecretSchema = z.object({
  client: clientSchema,
  secret: z.string().nullable().meta({ description: 'the client secret, shown this once (null for a public client)' }),
}).meta({ id: 'ClientWithSecret' });

export const resourceSchema = z.object({
  indicator: z.string().meta({ description: 'RFC 8707 resource indicator (the audience of its access tokens)' }),
  name: z.string().nullable(),
  scopes: z.array(z.string()),
  accessTokenTtl: z.number().int().meta({ description: 'access token lifetime in seconds' }),
  createdAt: z.string(),
}).meta({ id: 'Resource' });

export const resourceView = (resource: ApiResource): z.infer<typeof resourceSchema> => ({
  indicator: resource.indicator,
  name: resource.name,
  scopes: resource.scopes,
  accessTokenTtl: resource.accessTokenTtl,
  createdAt: resource.createdAt.toISOString(),
});

/** Which of a resource's scopes one client may receive. */
export const resourceGrantSchema = z.object({
  clientId: z.string(),
  resource: z.string(),
  scopes: z.array(z.string()),
}).meta({ id: 'ResourceGrant' });
