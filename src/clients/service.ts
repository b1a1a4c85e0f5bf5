import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { insertClient, listClients, deleteClientById, findClientMetadataById, type ClientMetadata, type StoredClient } from './repository.ts';

export const supportedGrantTypes = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export const authMethods = ['client_secret_basic', 'client_secret_post'] as const;

const newClientSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/, 'client ids are 1-128 letters, digits and . _ ~ -'),
  secret: z.string().min(32, 'client secrets need at least 32 characters').max(512).optional(),
  public: z.boolean().default(false),
  redirectUris: z.array(z.string()).default([]),
  postLogoutRedirectUris: z.array(z.string()).default([]),
  grantTypes: z.array(z.enum(supportedGrantTypes)).min(1).default(['authorization_code', 'refresh_token']),
  authMethod: z.enum(authMethods).default('client_secret_basic'),
  scope: z.string().trim().min(1).optional(),
  name: z.string().trim().min(1).max(200).optional(),
});

export type NewClientInput = z.input<typeof newClientSchema>;

/** Checks metadata the way the provider will when it loads the client (oidc-provider's Client.validate). */
export type ClientMetadataValidator = (metadata: ClientMetadata) => Promise<void>;

export type ClientService = ReturnType<typeof createClientService>;

export function createClientService(db: Database, validate: ClientMetadataValidator) {
  return {
    /** Registers a client. A confidential client without a secret gets a generated one, returned once. */
    async create(input: NewClientInput): Promise<{ client: StoredClient; secret: string | null }> {
      const parsed = newClientSchema.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new AppError('client.invalid', `${issue.path.join('.') || 'client'}: ${issue.message}`);
      }
      const data = parsed.data;
      if (data.public && data.secret) throw new AppError('client.invalid', 'a public client has no secret: drop --secret or --public');
      if (data.public && data.grantTypes.includes('client_credentials')) {
        throw new AppError('client.invalid', 'client_credentials needs a confidential client (a public client cannot keep a secret)');
      }
      const usesRedirects = data.grantTypes.includes('authorization_code');
      if (usesRedirects && data.redirectUris.length === 0) throw new AppError('client.invalid', 'the authorization_code grant needs at least one --redirect-uri');
      if (data.grantTypes.includes('refresh_token') && !usesRedirects) {
        throw new AppError('client.invalid', 'refresh_token is only issued through authorization_code; add that grant type');
      }
      const secret = data.public ? null : (data.secret ?? randomBytes(32).toString('base64url'));
      const metadata: ClientMetadata = {
        client_id: data.id,
        ...(secret ? { client_secret: secret } : {}),
        token_endpoint_auth_method: data.public ? 'none' : data.authMethod,
        grant_types: data.grantTypes,
        response_types: usesRedirects ? ['code'] : [],
        redirect_uris: data.redirectUris,
        post_logout_redirect_uris: data.postLogoutRedirectUris,
        ...(data.scope ? { scope: data.scope } : {}),
        ...(data.name ? { client_name: data.name } : {}),
      };
      await validate(metadata);
      const client = await insertClient(db, metadata);
      return { client, secret: data.secret ? null : secret };
    },

    list: (): Promise<StoredClient[]> => listClients(db),
    findMetadata: (id: string): Promise<ClientMetadata | null> => findClientMetadataById(db, id),

    async delete(id: string): Promise<void> {
      if (!(await deleteClientById(db, id))) throw new AppError('client.not_found', `no client with id ${id}`, 404);
    },
  };
}
