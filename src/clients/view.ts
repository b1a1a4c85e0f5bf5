import type { StoredClient } from './repository.ts';

/** What operators see of a client (CLI and admin API): picked key by key so the secret never appears. */
export interface ClientSummary {
  id: string;
  name: string | null;
  type: 'public' | 'confidential';
  authMethod: string;
  grantTypes: string[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  scope: string | null;
  /** The level every sign-in to this client must reach, if the client requires one. */
  minimumAcr: string | null;
  /** Every metadata field as the provider loads it (RFC 7591 names), without the secret. */
  metadata: Record<string, unknown>;
  createdAt: string;
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

export function summarizeClient(client: StoredClient): ClientSummary {
  const { metadata } = client;
  const authMethod = text(metadata.token_endpoint_auth_method) ?? 'client_secret_basic';
  return {
    id: client.id,
    name: text(metadata.client_name),
    type: authMethod === 'none' ? 'public' : 'confidential',
    authMethod,
    grantTypes: strings(metadata.grant_types),
    redirectUris: strings(metadata.redirect_uris),
    postLogoutRedirectUris: strings(metadata.post_logout_redirect_uris),
    scope: text(metadata.scope),
    minimumAcr: text(metadata.minimum_acr),
    metadata: Object.fromEntries(Object.entries(metadata).filter(([key]) => key !== 'client_secret')),
    createdAt: client.createdAt.toISOString(),
  };
}
