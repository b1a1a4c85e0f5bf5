import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { usingPostgres } from '../helpers/database.ts';
import { testClock, type TestClock } from '../helpers/clock.ts';
import { Browser } from '../helpers/browser.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';
import { authorizationRequest, PASSWORD, seedWebClient, signInThroughPages } from '../helpers/oidc.ts';

if (!usingPostgres) console.warn('\n!! SKIPPED the two-instance signing key tests: they need PostgreSQL (the second CI pass runs them).\n');

const ENV = { SIGNING_KEY_ROTATION_DAYS: '1', SIGNING_KEY_PREPUBLISH_SECONDS: '60' };

// Two instances on one PostgreSQL database and one Redis: `first` hears changes on its LISTEN
// feed; `second` has none (CONFIG_CACHE_ENABLED=false, as behind a pooler that cannot hold a
// LISTEN session) and follows by reading the table every few seconds. Both run on one test clock.
describe.skipIf(!usingPostgres)('signing keys on two instances', () => {
  let first: TestApp;
  let second: TestApp;
  let clock: TestClock;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;

  const published = async (app: TestApp): Promise<string[]> => ((await (await fetch(`${app.issuer}/jwks`)).json()) as { keys: JWK[] }).keys.map((key) => key.kid!);
  const activeKid = async (app: TestApp, alg: string): Promise<string> => (await app.deps.signingKeys.list()).find((key) => key.alg === alg && key.state === 'active')!.kid;
  async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > ms) throw new Error(`not within ${ms} ms: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return Date.now() - started;
  }
  async function signIn(app: TestApp) {
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: rp.email, password: PASSWORD });
    return client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
  }

  beforeAll(async () => {
    clock = testClock();
    first = await startTestApp(ENV, { clock });
    second = await startTestApp({ ...ENV, CONFIG_CACHE_ENABLED: 'false' }, { sharing: first, clock });
    // The relying party talks to the second instance.
    rp = await seedWebClient(second);
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('after a rotation on one instance the other serves the new JWKS within 5 s and signs with the new key; tokens from before still verify', async () => {
    const before = await signIn(second);
    const oldKid = await activeKid(second, 'RS256');
    expect(decodeProtectedHeader(before.id_token!).kid).toBe(oldKid);

    // On the first instance, through the admin API.
    const token = await adminToken(first);
    const rotated = await adminCall(first, token, 'POST', '/keys/rotations', { alg: 'RS256', now: true });
    expect(rotated.status).toBe(201);
    const newKid = rotated.body.items[0].kid as string;
    expect(await published(first)).toContain(newKid);

    await within(5000, 'the second instance publishes the new key', async () => (await published(second)).includes(newKid));
    await within(5000, 'the second instance signs with it', async () => decodeProtectedHeader(await adminToken(second)).kid === newKid);
    const after = await signIn(second);
    expect(decodeProtectedHeader(after.id_token!).kid).toBe(newKid);

    // The ID token from before the rotation verifies against either instance's JWKS.
    for (const app of [first, second]) {
      const keys = (await (await fetch(`${app.issuer}/jwks`)).json()) as { keys: JWK[] };
      await expect(jwtVerify(before.id_token!, createLocalJWKSet(keys), { issuer: second.issuer, audience: 'web-app' })).resolves.toBeTruthy();
    }

    // And the other way: the instance with the feed hears a change made on the polling one.
    const back = await second.deps.signingKeys.rotate({ algs: ['ES256'], now: true, actor: 'test' });
    const took = await within(5000, 'the first instance follows the second', async () => (await published(first)).includes(back[0]!.kid));
    expect(took).toBeLessThan(5000);
  });

  it('applies each scheduled step on exactly one instance; both follow', async () => {
    const countOf = async (event: string) => (await first.deps.audit.list({ limit: 200 })).filter((row) => row.event === event && row.details?.actor === 'schedule').length;
    const rotatedBefore = await countOf('key.rotated');

    // Past the rotation period of every active key (the ones rotated just now included).
    clock.advance(86_400_000 + 1000);
    await within(8000, 'both instances publish the scheduled next keys', async () => {
      const [a, b] = await Promise.all([published(first), published(second)]);
      return a.length >= 4 && b.length === a.length && (await first.deps.signingKeys.list()).filter((key) => key.state === 'next').length === 2;
    });
    // Both instances' checks ran past the due time; the key lock let only one act.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await countOf('key.rotated') - rotatedBefore).toBe(2);
    const nextKids = (await first.deps.signingKeys.list()).filter((key) => key.state === 'next').map((key) => key.kid);

    const activatedBefore = await countOf('key.activated');
    clock.advance(60_000);
    await within(8000, 'both instances sign with the new keys', async () => {
      const [a, b] = await Promise.all([adminToken(first), adminToken(second)]);
      return nextKids.includes(decodeProtectedHeader(a).kid!) && decodeProtectedHeader(a).kid === decodeProtectedHeader(b).kid;
    });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await countOf('key.activated') - activatedBefore).toBe(2);
  });
});
