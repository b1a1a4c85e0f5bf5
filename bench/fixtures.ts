/**
 * What both targets are seeded with, so every scenario sends the same requests to each: one
 * confidential client (client credentials, code + PKCE, refresh), one API (resource indicator)
 * and one person.
 */
export const fixtures = {
  clientId: 'bench',
  clientSecret: 'bench-secret-bench-secret-bench-secret-0001',
  redirectUri: 'http://127.0.0.1:9/cb',
  api: 'https://api.bench.test/',
  apiScopes: 'read write',
  email: 'bench.person@bench.test',
  password: 'bench person passphrase',
  name: 'Bench Person',
  /** The bare provider's only account. */
  accountId: 'bench-account',
} as const;

export const basicAuth = `Basic ${Buffer.from(`${encodeURIComponent(fixtures.clientId)}:${encodeURIComponent(fixtures.clientSecret)}`).toString('base64')}`;
