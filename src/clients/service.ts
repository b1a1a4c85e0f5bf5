import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { LEVELS } from '../mfa/levels.ts';
import { ACCOUNT_CLIENT_ID } from '../account/client.ts';
import {
  insertClient, listClients, deleteClientById, findClientById, findClientMetadataById, updateClientMetadata, type ClientMetadata, type StoredClient,
} from './repository.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const supportedGrantTypes = ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE_GRANT] as const;
export const authMethods = ['client_secret_basic', 'client_secret_post'] as const;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Why a redirect URI is refused, or null. The provider compares redirect URIs as exact strings,
 * so a registered one is an absolute https URL (http only on a loopback host, for native apps
 * and local development), with no fragment (RFC 6749 §3.1.2), no credentials and no wildcard.
 */
export function redirectUriProblem(value: string, field: string): string | null {
  const rule = `${field} must be exact https URLs (http only on 127.0.0.1, [::1] or localhost)`;
  if (/\s/.test(value)) return `"${value}" contains whitespace; ${rule}`;
  if (value.includes('*')) return `"${value}" contains a wildcard (*); ${field} are compared exactly, so register each URL in full`;
  if (value.includes('#')) return `"${value}" has a fragment; ${field} must not contain #`;
  if (!URL.canParse(value)) return `"${value}" is not an absolute URL; ${rule}`;
  const url = new URL(value);
  if (url.username || url.password) return `"${value}" contains credentials; ${field} must not contain user:password@`;
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname) ? null : `"${value}" uses http on ${url.hostname}, which is not a loopback host; ${rule}`;
  return `"${value}" uses the ${url.protocol.slice(0, -1)} scheme; ${rule}`;
}

const redirectUri = (field: string) => z.string().max(2000).superRefine((value, ctx) => {
  const problem = redirectUriProblem(value, field);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}).meta({ description: 'an exact absolute URL: https, or http on 127.0.0.1, [::1] or localhost; no fragment, credentials or wildcard' });

export const clientIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/, 'client ids are 1-128 letters, digits and . _ ~ -');

/** The settings a client is made of; create and update validate with the same rules. */
const fields = {
  redirectUris: z.array(redirectUri('redirect_uris')).max(50),
  postLogoutRedirectUris: z.array(redirectUri('post_logout_redirect_uris')).max(50),
  grantTypes: z.array(z.enum(supportedGrantTypes)).min(1),
  authMethod: z.enum(authMethods),
  scope: z.string().trim().min(1).max(2000),
  name: z.string().trim().min(1).max(200),
  // The authentication level everyone signing in to this client must reach (src/mfa/levels.ts).
  minimumAcr: z.enum(LEVELS).meta({ description: 'require this level of every sign-in to the client: password, mfa or phishing-resistant' }),
};

export const newClientSchema = z.object({
  id: clientIdSchema,
  secret: z.string().min(32, 'client secrets need at least 32 characters').max(512).optional(),
  public: z.boolean().default(false),
  redirectUris: fields.redirectUris.default([]),
  postLogoutRedirectUris: fields.postLogoutRedirectUris.default([]),
  grantTypes: fields.grantTypes.default(['authorization_code', 'refresh_token']),
  authMethod: fields.authMethod.default('client_secret_basic'),
  scope: fields.scope.optional(),
  name: fields.name.optional(),
  minimumAcr: fields.minimumAcr.optional(),
});

/** A change to a client: only the fields given change; null clears name or scope. */
export const clientUpdateSchema = z.object({
  name: fields.name.nullable().optional(),
  redirectUris: fields.redirectUris.optional(),
  postLogoutRedirectUris: fields.postLogoutRedirectUris.optional(),
  grantTypes: fields.grantTypes.optional(),
  authMethod: fields.authMethod.optional(),
  scope: fields.scope.nullable().optional(),
  minimumAcr: fields.minimumAcr.nullable().optional(),
});

/** A whole client after a change, checked again before it is stored. */
const settingsSchema = z.object({
  public: z.boolean(),
  redirectUris: fields.redirectUris,
  postLogoutRedirectUris: fields.postLogoutRedirectUris,
  grantTypes: fields.grantTypes,
  authMethod: fields.authMethod,
  scope: fields.scope.nullable(),
  name: fields.name.nullable(),
  minimumAcr: fields.minimumAcr.nullable(),
});

type ClientSettings = z.output<typeof settingsSchema>;
export type NewClientInput = z.input<typeof newClientSchema>;
export type ClientUpdateInput = z.input<typeof clientUpdateSchema>;

/** Checks metadata the way the provider will when it loads the client (oidc-provider's Client.validate). */
export type ClientMetadataValidator = (metadata: ClientMetadata) => Promise<void>;

export type ClientService = ReturnType<typeof createClientService>;

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new AppError('client.invalid', `${issue.path.join('.') || 'client'}: ${issue.message}`);
}

/** Rules that tie the fields together. */
function checkCombination(settings: ClientSettings): void {
  if (settings.public && settings.grantTypes.includes('client_credentials')) {
    throw new AppError('client.invalid', 'grantTypes: client_credentials needs a confidential client (a public client cannot keep a secret)');
  }
  const usesRedirects = settings.grantTypes.includes('authorization_code');
  if (usesRedirects && settings.redirectUris.length === 0) {
    throw new AppError('client.invalid', 'redirectUris: the authorization_code grant needs at least one redirect URI (--redirect-uri)');
  }
  if (settings.grantTypes.includes('refresh_token') && !usesRedirects && !settings.grantTypes.includes(DEVICE_CODE_GRANT)) {
    throw new AppError('client.invalid', `grantTypes: refresh_token is only issued through authorization_code or ${DEVICE_CODE_GRANT}; add one of them`);
  }
}

const MANAGED_KEYS = ['client_secret', 'token_endpoint_auth_method', 'grant_types', 'response_types', 'redirect_uris', 'post_logout_redirect_uris', 'scope', 'client_name', 'minimum_acr'];

/** Metadata for oidc-provider from the settings; keys this service does not manage are kept from `base`. */
function toMetadata(id: string, settings: ClientSettings, secret: string | null, base: Record<string, unknown> = {}): ClientMetadata {
  const kept = Object.fromEntries(Object.entries(base).filter(([key]) => key !== 'client_id' && !MANAGED_KEYS.includes(key)));
  return {
    client_id: id,
    ...(secret ? { client_secret: secret } : {}),
    token_endpoint_auth_method: settings.public ? 'none' : settings.authMethod,
    grant_types: settings.grantTypes,
    response_types: settings.grantTypes.includes('authorization_code') ? ['code'] : [],
    redirect_uris: settings.redirectUris,
    post_logout_redirect_uris: settings.postLogoutRedirectUris,
    ...(settings.scope ? { scope: settings.scope } : {}),
    ...(settings.name ? { client_name: settings.name } : {}),
    ...(settings.minimumAcr ? { minimum_acr: settings.minimumAcr } : {}),
    ...kept,
  };
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The settings a stored client has (not yet validated: it may predate a rule). */
function settingsOf(metadata: ClientMetadata): Record<keyof ClientSettings, unknown> {
  const method = text(metadata.token_endpoint_auth_method) ?? 'client_secret_basic';
  return {
    public: method === 'none',
    authMethod: method === 'none' ? 'client_secret_basic' : method,
    grantTypes: strings(metadata.grant_types),
    redirectUris: strings(metadata.redirect_uris),
    postLogoutRedirectUris: strings(metadata.post_logout_redirect_uris),
    scope: text(metadata.scope),
    name: text(metadata.client_name),
    minimumAcr: text(metadata.minimum_acr),
  };
}

const newSecret = (): string => randomBytes(32).toString('base64url');
const notFound = (id: string) => new AppError('client.not_found', `no client with id ${id}`);

export function createClientService(db: Database, validate: ClientMetadataValidator) {
  return {
    /** Registers a client. A confidential client without a secret gets a generated one, returned once. */
    async create(input: NewClientInput): Promise<{ client: StoredClient; secret: string | null }> {
      const data = parse(newClientSchema, input);
      // The account console's client is built in (src/account/client.ts); a stored one would never be read.
      if (data.id === ACCOUNT_CLIENT_ID) throw new AppError('client.invalid', `id: ${ACCOUNT_CLIENT_ID} is the account console's built-in client; choose another id`);
      if (data.public && data.secret) throw new AppError('client.invalid', 'a public client has no secret: drop --secret or --public');
      const settings: ClientSettings = { ...data, scope: data.scope ?? null, name: data.name ?? null, minimumAcr: data.minimumAcr ?? null };
      checkCombination(settings);
      const secret = data.public ? null : (data.secret ?? newSecret());
      const metadata = toMetadata(data.id, settings, secret);
      await validate(metadata);
      const client = await insertClient(db, metadata);
      return { client, secret: data.secret ? null : secret };
    },

    list: (): Promise<StoredClient[]> => listClients(db),
    findMetadata: (id: string): Promise<ClientMetadata | null> => findClientMetadataById(db, id),

    async get(id: string): Promise<StoredClient> {
      const client = await findClientById(db, id);
      if (!client) throw notFound(id);
      return client;
    },

    /**
     * Changes some of a client's settings. The result is checked as a whole, with the same rules as
     * a new client and by the provider, before it replaces the stored one; the secret is kept.
     */
    async update(id: string, input: ClientUpdateInput): Promise<StoredClient> {
      const patch = parse(clientUpdateSchema, input);
      return db.transaction(async (tx) => {
        const current = await findClientById(tx, id, { forUpdate: true });
        if (!current) throw notFound(id);
        const was = settingsOf(current.metadata);
        if (was.public && patch.authMethod !== undefined) {
          throw new AppError('client.invalid', `authMethod: ${id} is a public client; it has no secret and authenticates with none`);
        }
        const changes = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
        const settings = parse(settingsSchema, { ...was, ...changes });
        checkCombination(settings);
        const metadata = toMetadata(id, settings, text(current.metadata.client_secret), current.metadata);
        await validate(metadata);
        const client = await updateClientMetadata(tx, metadata);
        if (!client) throw notFound(id);
        return client;
      });
    },

    /** Gives a confidential client a new random secret, returned once; the old one stops working at once. */
    async rotateSecret(id: string): Promise<{ client: StoredClient; secret: string }> {
      return db.transaction(async (tx) => {
        const current = await findClientById(tx, id, { forUpdate: true });
        if (!current) throw notFound(id);
        if (current.metadata.token_endpoint_auth_method === 'none') throw new AppError('client.public', `${id} is a public client: it has no secret to rotate`);
        const secret = newSecret();
        const client = await updateClientMetadata(tx, { ...current.metadata, client_secret: secret });
        if (!client) throw notFound(id);
        return { client, secret };
      });
    },

    async delete(id: string): Promise<void> {
      if (!(await deleteClientById(db, id))) throw notFound(id);
    },
  };
}
