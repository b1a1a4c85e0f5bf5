import type { TestApp } from './app.ts';

/**
 * A service client holding the given roles (default: admin) and a client-credentials access
 * token for the admin API with the given scopes: what an operator's automation would use.
 */
export async function adminToken(app: TestApp, options: { clientId?: string; roles?: string[]; scope?: string } = {}): Promise<string> {
  const clientId = options.clientId ?? `ops-${Math.random().toString(36).slice(2, 8)}`;
  const { secret } = await app.deps.clients.create({ id: clientId, grantTypes: ['client_credentials'] });
  await app.deps.rbac.setClientRoles(clientId, options.roles ?? ['admin']);
  const response = await fetch(`${app.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: app.deps.adminResource, scope: options.scope ?? 'admin:read admin:write' }),
  });
  const body = await response.json() as { access_token?: string };
  if (!body.access_token) throw new Error(`no admin token: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Calls the admin API; returns status, JSON body and headers. */
export async function adminCall(app: TestApp, token: string | null, method: string, path: string, body?: unknown) {
  const response = await fetch(`${app.issuer}/admin/api/v1${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) as any : undefined, headers: response.headers };
}
