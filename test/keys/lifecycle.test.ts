import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type Provider from 'oidc-provider';
import { dueSteps, jwksMaxAge, signedTokenLifetime, CLOCK_SKEW_SECONDS, type KeyRecord } from '../../src/oidc/keys/lifecycle.ts';
import { createProviderHolder } from '../../src/oidc/provider-holder.ts';
import { createKeySealer } from '../../src/oidc/keys/sealing.ts';
import { generateSigningJwk } from '../../src/oidc/keys/generate.ts';
import { loadConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const key = (kid: string, fields: Partial<KeyRecord>): KeyRecord => ({
  kid, alg: 'RS256', state: 'active', createdAt: new Date(T0), activateAfter: null, activatedAt: new Date(T0), retiredAt: null, unpublishAfter: null, removedAt: null, ...fields,
});

describe('the key schedule (pure)', () => {
  it('publishes a next key once the active one has signed for the rotation period, and only when rotation is on', () => {
    const active = key('a', {});
    expect(dueSteps([active], T0 + DAY - 1, { rotationSeconds: 86_400 })).toEqual([]);
    expect(dueSteps([active], T0 + DAY, { rotationSeconds: 86_400 })).toEqual([{ step: 'publish', alg: 'RS256', replacing: active }]);
    expect(dueSteps([active], T0 + 100 * DAY, { rotationSeconds: 0 })).toEqual([]);
    // A next key already published: nothing more to publish for that algorithm.
    const next = key('n', { state: 'next', activatedAt: null, activateAfter: new Date(T0 + 2 * DAY) });
    expect(dueSteps([active, next], T0 + DAY, { rotationSeconds: 86_400 })).toEqual([]);
  });

  it('activates a next key at the end of its pre-publication, and removes a retired key once its tokens can have expired, also with rotation off', () => {
    const next = key('n', { state: 'next', activatedAt: null, activateAfter: new Date(T0 + 60_000) });
    const retired = key('r', { state: 'retired', retiredAt: new Date(T0), unpublishAfter: new Date(T0 + 120_000) });
    const settings = { rotationSeconds: 0 };
    expect(dueSteps([next, retired], T0 + 59_999, settings)).toEqual([]);
    expect(dueSteps([next, retired], T0 + 60_000, settings)).toEqual([{ step: 'activate', key: next }]);
    expect(dueSteps([next, retired], T0 + 120_000, settings).map((step) => step.step)).toEqual(['activate', 'remove']);
  });

  it('keeps a retired key for the longest signed-token lifetime plus clock skew; /jwks is cached for less than the pre-publication', () => {
    const ttl = configSchema.parse({}).ttl;
    expect(signedTokenLifetime(ttl, 0)).toBe(3600 + CLOCK_SKEW_SECONDS);
    expect(signedTokenLifetime({ ...ttl, idToken: 300, accessToken: 300, clientCredentials: 300 }, 7200)).toBe(7200 + CLOCK_SKEW_SECONDS);
    expect(jwksMaxAge(86_400)).toBe(3600);
    expect(jwksMaxAge(600)).toBe(300);
    expect(jwksMaxAge(1)).toBe(0);
  });
});

describe('the provider holder', () => {
  // Stand-ins: the holder only builds, forwards and composes.
  const fake = (name: string) => ({ name, middleware: [], hello(this: { name: string }) { return this.name; } }) as unknown as Provider;

  it('keeps a request on the instance it started on while new requests get the new one', async () => {
    let built = 0;
    const holder = createProviderHolder(() => fake(`p${++built}`), []);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: string[] = [];
    const inFlight = holder.pin({} as never, async () => {
      seen.push((holder.provider as unknown as { hello(): string }).hello());
      await gate;
      seen.push((holder.provider as unknown as { hello(): string }).hello());
    });
    holder.replace([]);
    await holder.pin({} as never, async () => {
      seen.push((holder.provider as unknown as { hello(): string }).hello());
    });
    release();
    await inFlight;
    expect(seen).toEqual(['p1', 'p2', 'p1']);
    expect(holder.generation).toBe(2);
    // Outside any request: the newest.
    expect((holder.provider as unknown as { name: string }).name).toBe('p2');
  });
});

describe('sealing private signing keys', () => {
  it('opens what it sealed, only for the same kid, and also after a newer key is put first', async () => {
    const old = randomBytes(32).toString('base64');
    const jwk = await generateSigningJwk('ES256');
    const sealed = createKeySealer([old]).seal(jwk, jwk.kid!);
    expect(sealed).not.toContain(jwk.d!);
    expect(createKeySealer([randomBytes(32).toString('base64'), old]).open(sealed, jwk.kid!)).toEqual(jwk);
    expect(() => createKeySealer([old]).open(sealed, 'another-kid')).toThrow(/signing key another-kid cannot be read/);
    expect(() => createKeySealer([randomBytes(32).toString('base64')]).open(sealed, jwk.kid!)).toThrow(/not configured/);
  });
});

describe('key configuration', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'idp-keys-config-'));
  const one = randomBytes(32).toString('base64');
  const two = randomBytes(32).toString('base64');

  it('reads ENCRYPTION_KEYS, and MFA_ENCRYPTION_KEYS as its older name, refusing the two when they differ', () => {
    expect(loadConfig({ ENCRYPTION_KEYS: one }, cwd).encryptionKeys).toEqual([one]);
    expect(loadConfig({ MFA_ENCRYPTION_KEYS: one }, cwd).encryptionKeys).toEqual([one]);
    expect(loadConfig({ ENCRYPTION_KEYS: `${one},${two}`, MFA_ENCRYPTION_KEYS: `${one},${two}` }, cwd).encryptionKeys).toEqual([one, two]);
    expect(() => loadConfig({ ENCRYPTION_KEYS: one, MFA_ENCRYPTION_KEYS: two }, cwd)).toThrow(/ENCRYPTION_KEYS and MFA_ENCRYPTION_KEYS .* both set, to different keys/);
    expect(() => loadConfig({ ENCRYPTION_KEYS: 'short' }, cwd)).toThrow(/encryptionKeys\.0: each key must be 32 random bytes/);
  });

  it('has rotation off and a day of pre-publication by default, and names a bad value', () => {
    expect(loadConfig({}, cwd).signingKeys).toEqual({ rotationDays: 0, prepublishSeconds: 86_400 });
    expect(loadConfig({ SIGNING_KEY_ROTATION_DAYS: '30', SIGNING_KEY_PREPUBLISH_SECONDS: '3600' }, cwd).signingKeys).toEqual({ rotationDays: 30, prepublishSeconds: 3600 });
    expect(() => loadConfig({ SIGNING_KEY_ROTATION_DAYS: '1.5' }, cwd)).toThrow(/signingKeys\.rotationDays/);
    expect(() => loadConfig({ SIGNING_KEY_PREPUBLISH_SECONDS: '0' }, cwd)).toThrow(/signingKeys\.prepublishSeconds/);
  });
});
