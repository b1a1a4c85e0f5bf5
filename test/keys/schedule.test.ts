import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader, type JWK } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testClock, type TestClock } from '../helpers/clock.ts';
import { adminToken } from '../helpers/admin.ts';
import type { KeyRecord } from '../../src/oidc/keys/lifecycle.ts';

const PREPUBLISH_SECONDS = 60;

// The schedule decides by the app's clock, which this test moves (a day, a minute, an hour)
// instead of waiting; each step is then taken by the instance's next check, within a second or two.
describe('scheduled key rotation', () => {
  let app: TestApp;
  let clock: TestClock;

  const published = async (): Promise<string[]> => ((await (await fetch(`${app.issuer}/jwks`)).json()) as { keys: JWK[] }).keys.map((key) => key.kid!).sort();
  const keysOf = async (alg: string): Promise<KeyRecord[]> => (await app.deps.signingKeys.list({ all: true })).filter((key) => key.alg === alg);
  async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  beforeAll(async () => {
    clock = testClock();
    app = await startTestApp({ SIGNING_KEY_ROTATION_DAYS: '1', SIGNING_KEY_PREPUBLISH_SECONDS: String(PREPUBLISH_SECONDS) }, { clock });
  });
  afterAll(async () => app?.close());

  it('pre-publishes a next key, switches to it, then retires and finally unpublishes the old one, in that order', async () => {
    // Cached for half the pre-publication time, so every relying party sees a next key before it signs.
    expect((await fetch(`${app.issuer}/jwks`)).headers.get('cache-control')).toBe(`public, max-age=${PREPUBLISH_SECONDS / 2}`);
    const [first] = await keysOf('RS256');
    expect(first).toMatchObject({ state: 'active' });
    const before = await published();
    expect(before).toHaveLength(2);

    // Nothing happens before the rotation period is over.
    clock.advance(86_400_000 - 5000);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await published()).toEqual(before);

    // 1. A day of signing: a next key is published for each algorithm; the old one still signs.
    clock.advance(5000);
    const withNext = await until('next key published', () => keysOf('RS256'), (keys) => keys.some((key) => key.state === 'next'));
    const next = withNext.find((key) => key.state === 'next')!;
    expect(next.activateAfter!.getTime() - next.createdAt.getTime()).toBe(PREPUBLISH_SECONDS * 1000);
    await until('next keys in /jwks', published, (kids) => kids.length === 4 && kids.includes(next.kid));
    expect(decodeProtectedHeader(await adminToken(app)).kid).toBe(first!.kid);

    // 2. The pre-publication is over: the next key signs, the old one is retired but still published.
    clock.advance(PREPUBLISH_SECONDS * 1000);
    const switched = await until('switch to the next key', () => keysOf('RS256'), (keys) => keys.find((key) => key.kid === next.kid)?.state === 'active');
    const retired = switched.find((key) => key.kid === first!.kid)!;
    expect(retired.state).toBe('retired');
    expect(await published()).toHaveLength(4);
    await until('new tokens signed with the new key', async () => decodeProtectedHeader(await adminToken(app)).kid, (kid) => kid === next.kid);

    // 3. Every token the old key signed can have expired: it leaves /jwks.
    clock.advance(retired.unpublishAfter!.getTime() - clock.now() - 1000);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await published()).toContain(first!.kid);
    clock.advance(1000);
    await until('old key unpublished', published, (kids) => kids.length === 2 && !kids.includes(first!.kid));
    expect((await keysOf('RS256')).find((key) => key.kid === first!.kid)).toMatchObject({ state: 'removed', removedAt: expect.any(Date) });
    const { rows } = await app.deps.db.query<{ sealed: string | null }>('SELECT private_jwk_sealed AS sealed FROM signing_keys WHERE kid = $1', [first!.kid]);
    expect(rows[0]!.sealed).toBeNull();

    // The audit trail tells the story in order, each step once.
    const events = (await app.deps.audit.list({ limit: 50 })).reverse()
      .filter((event) => event.event.startsWith('key.') && event.details?.alg === 'RS256')
      .map((event) => `${event.event}:${event.details?.actor}`);
    expect(events).toEqual(['key.rotated:schedule', 'key.retired:schedule', 'key.activated:schedule', 'key.removed:schedule']);
  });
});
