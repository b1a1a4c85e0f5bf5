import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Deps } from '../src/deps.ts';
import type { ClientMetadata } from '../src/clients/repository.ts';
import { isAppError } from '../src/errors.ts';

// A fixed, well-known password: the demo binds to loopback and exists to be tried out.
export const DEMO_EMAIL = 'demo@example.com';
export const DEMO_PASSWORD = 'demo-password-123';
export const DEMO_CLIENT_ID = 'demo-rp';
export const DEMO_SCOPE = 'openid profile email offline_access roles';
export const DEMO_API_SCOPES = ['read', 'write'];
export const DEMO_API_GRANTED_SCOPES = ['read'];

export interface DemoUrls {
  /** Where the relying party is reached, e.g. http://localhost:3001 */
  rpUrl: string;
  /** The API's resource indicator, e.g. http://localhost:3002/api */
  apiIndicator: string;
}

export interface DemoSeed {
  email: string;
  password: string;
  clientId: string;
  clientSecret: string;
  /** What was created this time (empty when everything was reused). */
  created: string[];
}

type SeedDeps = Pick<Deps, 'accounts' | 'clients' | 'resources' | 'rbac'>;
export const DEMO_API_ROLE = 'api-user';

/** The client secret is returned only when the client is created, so the demo keeps it here. */
const secretFile = (dataDir: string): string => join(dataDir, 'demo-client.json');

function readStoredSecret(dataDir: string): string | null {
  try {
    const stored = JSON.parse(readFileSync(secretFile(dataDir), 'utf8')) as { clientId?: unknown; secret?: unknown };
    return stored.clientId === DEMO_CLIENT_ID && typeof stored.secret === 'string' ? stored.secret : null;
  } catch {
    return null;
  }
}

function storeSecret(dataDir: string, secret: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = secretFile(dataDir);
  writeFileSync(path, `${JSON.stringify({ clientId: DEMO_CLIENT_ID, secret }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // the mode above applies only when the file is new
}

const sameList = (actual: unknown, expected: string[]): boolean =>
  Array.isArray(actual) && actual.length === expected.length && expected.every((value, index) => actual[index] === value);

/** Conflicts mean "someone created it first": reuse instead of failing. */
async function unlessExists(code: string, create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (error) {
    if (isAppError(error) && error.code === code) return false;
    throw error;
  }
}

/**
 * Creates the demo user, client and API on first run and reuses them afterwards. The client is
 * recreated when its secret is lost (a new DATA_DIR over an old database) or its URLs no longer
 * match the ports the demo runs on.
 */
export async function seedDemo(deps: SeedDeps, dataDir: string, urls: DemoUrls): Promise<DemoSeed> {
  const created: string[] = [];

  if (!(await deps.accounts.findByEmail(DEMO_EMAIL))) {
    const fresh = await unlessExists('account.email_taken', () => deps.accounts.create({
      email: DEMO_EMAIL, password: DEMO_PASSWORD, name: 'Demo User', roles: ['admin'], emailVerified: true,
    }));
    if (fresh) created.push(`account ${DEMO_EMAIL}`);
  }

  const redirectUris = [`${urls.rpUrl}/callback`];
  const postLogoutRedirectUris = [`${urls.rpUrl}/`];
  const existing: ClientMetadata | null = await deps.clients.findMetadata(DEMO_CLIENT_ID);
  const stored = readStoredSecret(dataDir);
  let clientSecret: string;
  if (existing && stored && sameList(existing.redirect_uris, redirectUris) && sameList(existing.post_logout_redirect_uris, postLogoutRedirectUris)) {
    clientSecret = stored;
  } else {
    if (existing) await deps.clients.delete(DEMO_CLIENT_ID);
    clientSecret = stored ?? randomBytes(32).toString('base64url');
    // Stored before the client exists, so a crash in between leaves a secret we can reuse.
    storeSecret(dataDir, clientSecret);
    await deps.clients.create({
      id: DEMO_CLIENT_ID,
      secret: clientSecret,
      redirectUris,
      postLogoutRedirectUris,
      grantTypes: ['authorization_code', 'refresh_token'],
      scope: DEMO_SCOPE,
      name: 'Demo relying party',
      authMethod: 'client_secret_basic',
    });
    created.push(`client ${DEMO_CLIENT_ID}`);
  }

  const resourceExists = (await deps.resources.list()).some((resource) => resource.indicator === urls.apiIndicator);
  if (!resourceExists && await unlessExists('resource.exists', () => deps.resources.create({ indicator: urls.apiIndicator, name: 'Demo API', scopes: DEMO_API_SCOPES, ttl: 600 }))) {
    created.push(`resource ${urls.apiIndicator}`);
  }
  // An upsert: cheap to repeat, and restores the grant after the client was recreated.
  await deps.resources.grant(DEMO_CLIENT_ID, urls.apiIndicator, DEMO_API_GRANTED_SCOPES);

  // RBAC: the API's scopes are permissions; role api-user holds them and admin includes
  // api-user, so the demo user's API token carries them (intersected with what the client asked).
  for (const scope of DEMO_API_SCOPES) {
    await unlessExists('permission.exists', () => deps.rbac.createPermission({ indicator: urls.apiIndicator, name: scope }));
  }
  if (await unlessExists('role.exists', () => deps.rbac.createRole({ name: DEMO_API_ROLE, description: 'Uses the demo API' }))) created.push(`role ${DEMO_API_ROLE}`);
  for (const scope of DEMO_API_SCOPES) await deps.rbac.grantPermission(DEMO_API_ROLE, urls.apiIndicator, scope);
  await deps.rbac.addComposite('admin', DEMO_API_ROLE);

  return { email: DEMO_EMAIL, password: DEMO_PASSWORD, clientId: DEMO_CLIENT_ID, clientSecret, created };
}
