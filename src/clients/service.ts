import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { textFlaw } from '../http/text-flaws.ts';
import { LEVELS } from '../mfa/levels.ts';
import { ACCOUNT_CLIENT_ID } from '../account/client.ts';
import {
  insertClient, listClients, deleteClientById, findClientById, findClientMetadataById, updateClientMetadata, type ClientMetadata, type StoredClient,
} from './repository.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const supportedGrantTypes = ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE_GRANT] as const;
/** How a confidential client authenticates; a public client uses `none` (--public). */
export const authMethods = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt'] as const;
/** The methods that prove the client holds its secret, so it needs one. */
const SECRET_METHODS: ReadonlySet<string> = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);

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
  return httpsUrlProblem(value, rule);
}

/** Why a URL the provider will fetch or send people to is refused: https, or http on a loopback host. */
export function httpsUrlProblem(value: string, rule: string): string | null {
  if (!URL.canParse(value)) return `"${value}" is not an absolute URL; ${rule}`;
  const url = new URL(value);
  if (url.username || url.password) return `"${value}" contains credentials; it must not contain user:password@`;
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname) ? null : `"${value}" uses http on ${url.hostname}, which is not a loopback host; ${rule}`;
  return `"${value}" uses the ${url.protocol.slice(0, -1)} scheme; ${rule}`;
}

const redirectUri = (field: string) => z.string().max(2000).superRefine((value, ctx) => {
  const problem = redirectUriProblem(value, field);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}).meta({ description: 'an exact absolute URL: https, or http on 127.0.0.1, [::1] or localhost; no fragment, credentials or wildcard' });

export const clientIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/, 'client ids are 1-128 letters, digits and . _ ~ -');

/**
 * Client metadata as RFC 7591 and OpenID Connect Dynamic Client Registration 1.0 name it
 * (`{"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://…"}`), beside the named
 * fields. Which keys exist and what values they take is decided by oidc-provider's own client
 * schema (the validator given to the service); here only what is ours: its size, its text.
 */
export const clientMetadataSchema = z.record(z.string().max(100), z.unknown())
  .meta({ description: 'RFC 7591 / OpenID Connect Registration client metadata fields; on update, null removes a field' });

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
  public: z.boolean().optional(),
  redirectUris: fields.redirectUris.optional(),
  postLogoutRedirectUris: fields.postLogoutRedirectUris.optional(),
  grantTypes: fields.grantTypes.optional().meta({ description: 'default: authorization_code, refresh_token' }),
  authMethod: fields.authMethod.optional().meta({ description: 'default: client_secret_basic' }),
  scope: fields.scope.optional(),
  name: fields.name.optional(),
  minimumAcr: fields.minimumAcr.optional(),
  metadata: clientMetadataSchema.optional(),
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
  metadata: clientMetadataSchema.optional(),
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
type SettingField = keyof ClientSettings;
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

/** The metadata key behind each named field (public and authMethod share token_endpoint_auth_method). */
const KEY_OF: Record<Exclude<SettingField, 'public' | 'authMethod'>, string> = {
  redirectUris: 'redirect_uris',
  postLogoutRedirectUris: 'post_logout_redirect_uris',
  grantTypes: 'grant_types',
  scope: 'scope',
  name: 'client_name',
  minimumAcr: 'minimum_acr',
};
const AUTH_METHOD = 'token_endpoint_auth_method';
const MANAGED_KEYS = new Set([...Object.values(KEY_OF), AUTH_METHOD, 'client_secret', 'response_types']);

/** Keys the provider sets itself; the client's id and secret have their own flags. */
const NOT_SETTABLE: Record<string, string> = {
  client_id: 'the client id is --id (admin API: id)',
  client_secret: 'the secret is --secret or generated (admin API: POST /clients/{id}/secret)',
  client_id_issued_at: 'set by the provider',
  client_secret_expires_at: 'client secrets do not expire here; rotate them instead',
  registration_access_token: 'set by the provider (dynamic registration is off)',
  registration_client_uri: 'set by the provider (dynamic registration is off)',
};
// Metadata naming URLs the provider fetches (jwks_uri, sector_identifier_uri) or shows people.
const URL_KEYS = ['jwks_uri', 'sector_identifier_uri', 'client_uri', 'logo_uri', 'policy_uri', 'tos_uri', 'initiate_login_uri', 'backchannel_logout_uri'];
const MAX_METADATA_BYTES = 64 * 1024;

/** Our own rules for metadata fields, before the provider's: what may be set, and the text in it. */
function checkMetadata(metadata: Record<string, unknown>, options: { nullRemoves: boolean }): void {
  if (JSON.stringify(metadata).length > MAX_METADATA_BYTES) throw new AppError('client.invalid', `metadata: more than ${MAX_METADATA_BYTES / 1024} KiB`);
  for (const [key, value] of Object.entries(metadata)) {
    const field = `metadata.${key}`;
    const flaw = textFlaw(key) ?? deepTextFlaw(value);
    if (flaw) throw new AppError('client.invalid', `${field}: contains text that cannot be stored (${flaw})`);
    if (NOT_SETTABLE[key]) throw new AppError('client.invalid', `${field}: cannot be set here: ${NOT_SETTABLE[key]}`);
    if (value === null && !options.nullRemoves) throw new AppError('client.invalid', `${field}: null only removes a field of an existing client; leave the field out`);
    if (URL_KEYS.includes(key) && value !== null) {
      const problem = typeof value === 'string' ? httpsUrlProblem(value, `${key} must be an https URL (http only on 127.0.0.1, [::1] or localhost)`) : 'must be a string';
      if (problem) throw new AppError('client.invalid', `${field}: ${problem}`);
    }
  }
}

function deepTextFlaw(value: unknown, depth = 0): string | null {
  if (typeof value === 'string') return textFlaw(value);
  if (depth > 8 || value === null || typeof value !== 'object') return null;
  for (const [key, item] of Object.entries(value)) {
    const flaw = textFlaw(key) ?? deepTextFlaw(item, depth + 1);
    if (flaw) return flaw;
  }
  return null;
}

/**
 * The whole settings checked; a refusal of a value that came from `metadata` names its metadata
 * key (metadata.token_endpoint_auth_method), one from a named field names the field.
 */
function parseSettings(values: Record<string, unknown>, fromMetadata: Partial<Record<SettingField, unknown>>): ClientSettings {
  const parsed = settingsSchema.safeParse(values);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const [field, ...rest] = issue.path.map(String);
  const key = field === 'public' || field === 'authMethod' ? AUTH_METHOD : KEY_OF[field as keyof typeof KEY_OF];
  const named = field && field in fromMetadata && key ? ['metadata', key, ...rest].join('.') : issue.path.join('.');
  throw new AppError('client.invalid', `${named || 'client'}: ${issue.message}`);
}

/** The named fields a metadata object sets, with its own values (checked later with the rest). */
function settingsFromMetadata(metadata: Record<string, unknown>): Partial<Record<SettingField, unknown>> {
  const settings: Partial<Record<SettingField, unknown>> = {};
  for (const [field, key] of Object.entries(KEY_OF) as Array<[SettingField, string]>) {
    if (key in metadata) settings[field] = metadata[key];
  }
  if (AUTH_METHOD in metadata) {
    const method = metadata[AUTH_METHOD];
    settings.public = method === 'none';
    if (method !== 'none') settings.authMethod = method;
  }
  return settings;
}

/** A field given both as a named field and inside `metadata` is refused rather than guessed. */
function refuseTwice(given: Record<string, unknown>, metadata: Record<string, unknown>): void {
  for (const [field, key] of [...Object.entries(KEY_OF), ['authMethod', AUTH_METHOD], ['public', AUTH_METHOD]]) {
    if (given[field!] !== undefined && key! in metadata) {
      throw new AppError('client.invalid', `metadata.${key}: given twice, as ${field} and in metadata; give it once`);
    }
  }
}

/** The response types follow from the grant types; metadata may state them only as they are. */
function responseTypesFor(settings: ClientSettings): string[] {
  return settings.grantTypes.includes('authorization_code') ? ['code'] : [];
}

function checkResponseTypes(metadata: Record<string, unknown>, settings: ClientSettings): void {
  if (!('response_types' in metadata) || metadata.response_types === null) return;
  const expected = responseTypesFor(settings);
  const given = metadata.response_types;
  if (!Array.isArray(given) || given.length !== expected.length || !given.every((type, index) => type === expected[index])) {
    throw new AppError('client.invalid', `metadata.response_types: follows from grant_types (here ${JSON.stringify(expected)}); only the code flow is offered`);
  }
}

/** Metadata for oidc-provider from the settings; keys outside the named fields come from `rest`. */
function toMetadata(id: string, settings: ClientSettings, secret: string | null, rest: Record<string, unknown>): ClientMetadata {
  const kept = Object.fromEntries(Object.entries(rest).filter(([key, value]) => key !== 'client_id' && !MANAGED_KEYS.has(key) && value !== null));
  return {
    client_id: id,
    ...(secret ? { client_secret: secret } : {}),
    token_endpoint_auth_method: settings.public ? 'none' : settings.authMethod,
    grant_types: settings.grantTypes,
    response_types: responseTypesFor(settings),
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
function settingsOf(metadata: ClientMetadata): Record<SettingField, unknown> {
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

const NEW_CLIENT_DEFAULTS: Record<SettingField, unknown> = {
  public: false, redirectUris: [], postLogoutRedirectUris: [], grantTypes: ['authorization_code', 'refresh_token'],
  authMethod: 'client_secret_basic', scope: null, name: null, minimumAcr: null,
};

const defined = (values: Record<string, unknown>) => Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));

const newSecret = (): string => randomBytes(32).toString('base64url');
const notFound = (id: string) => new AppError('client.not_found', `no client with id ${id}`);

export function createClientService(db: Database, validate: ClientMetadataValidator) {
  return {
    /**
     * Registers a client. A client that authenticates with a secret and was given none gets a
     * generated one, returned once; a private_key_jwt client has its keys instead.
     */
    async create(input: NewClientInput): Promise<{ client: StoredClient; secret: string | null }> {
      const data = parse(newClientSchema, input);
      // The account console's client is built in (src/account/client.ts); a stored one would never be read.
      if (data.id === ACCOUNT_CLIENT_ID) throw new AppError('client.invalid', `id: ${ACCOUNT_CLIENT_ID} is the account console's built-in client; choose another id`);
      const { id, secret: givenSecret, metadata: extra = {}, ...named } = data;
      checkMetadata(extra, { nullRemoves: false });
      refuseTwice(named, extra);
      const fromMetadata = defined(settingsFromMetadata(extra));
      const settings = parseSettings({ ...NEW_CLIENT_DEFAULTS, ...fromMetadata, ...defined(named) }, fromMetadata);
      checkCombination(settings);
      checkResponseTypes(extra, settings);
      const usesSecret = !settings.public && SECRET_METHODS.has(settings.authMethod);
      if (givenSecret && settings.public) throw new AppError('client.invalid', 'a public client has no secret: drop --secret or --public');
      if (givenSecret && !usesSecret) throw new AppError('client.invalid', `secret: a ${settings.authMethod} client authenticates with its keys, not a secret: drop --secret`);
      const secret = usesSecret ? (givenSecret ?? newSecret()) : null;
      const metadata = toMetadata(id, settings, secret, extra);
      await validate(metadata);
      const client = await insertClient(db, metadata);
      return { client, secret: givenSecret ? null : secret };
    },

    list: (): Promise<StoredClient[]> => listClients(db),
    findMetadata: (id: string): Promise<ClientMetadata | null> => findClientMetadataById(db, id),

    async get(id: string): Promise<StoredClient> {
      const client = await findClientById(db, id);
      if (!client) throw notFound(id);
      return client;
    },

    /**
     * Changes some of a client's settings and metadata fields (null in `metadata` removes one).
     * The result is checked as a whole, with the same rules as a new client and by the provider,
     * before it replaces the stored one. The secret is kept while the client authenticates with
     * it, and dropped when it moves to private_key_jwt.
     */
    async update(id: string, input: ClientUpdateInput): Promise<StoredClient> {
      const { metadata: extra = {}, ...patch } = parse(clientUpdateSchema, input);
      checkMetadata(extra, { nullRemoves: true });
      refuseTwice(patch, extra);
      return db.transaction(async (tx) => {
        const current = await findClientById(tx, id, { forUpdate: true });
        if (!current) throw notFound(id);
        const was = settingsOf(current.metadata);
        const fromMetadata = defined(settingsFromMetadata(extra));
        const changes = { ...fromMetadata, ...defined(patch) };
        if (changes.public !== undefined && changes.public !== was.public) {
          throw new AppError('client.invalid', `${AUTH_METHOD}: ${id} is a ${was.public ? 'public' : 'confidential'} client and stays one; register a new client instead`);
        }
        if (was.public && changes.authMethod !== undefined) {
          throw new AppError('client.invalid', `authMethod: ${id} is a public client; it has no secret and authenticates with none`);
        }
        const settings = parseSettings({ ...was, ...changes }, fromMetadata);
        checkCombination(settings);
        checkResponseTypes(extra, settings);
        const secret = text(current.metadata.client_secret);
        const usesSecret = !settings.public && SECRET_METHODS.has(settings.authMethod);
        if (usesSecret && !secret) {
          throw new AppError('client.invalid', `authMethod: ${settings.authMethod} needs a client secret and ${id} has none; give it one first (idp client secret --id ${id}; admin API: POST /clients/${id}/secret)`);
        }
        const rest = { ...current.metadata, ...extra };
        const metadata = toMetadata(id, settings, usesSecret || settings.authMethod !== 'private_key_jwt' ? secret : null, rest);
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
