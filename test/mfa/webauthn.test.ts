import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { testClock } from '../helpers/clock.ts';
import { createSoftAuthenticator, type SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import { startTestApp } from '../helpers/app.ts';
import { createWebAuthn, type WebAuthn } from '../../src/mfa/webauthn.ts';
import { createMfaService, type MfaService } from '../../src/mfa/service.ts';
import { loadMfaKeys } from '../../src/mfa/keys.ts';
import { combineAmr, levelOf } from '../../src/mfa/levels.ts';
import { insertAccount } from '../../src/accounts/repository.ts';
import { createRedisAttemptStore, createSqlAttemptStore, type AttemptStore } from '../../src/federation/attempt-store.ts';
import { createRedisClient, type RedisClient } from '../../src/db/redis-connect.ts';

/*
 * Passkeys and security keys on the real database (embedded or PostgreSQL) and the real
 * ceremony store (SQL, or Redis when REDIS_URL is set), answered by a software authenticator:
 * registration, sign-in as a second factor and without a password, and each way an answer can
 * be wrong.
 */

const ISSUER = 'https://id.example.test:8443/idp';
const ORIGIN = 'https://id.example.test:8443';
const RP_ID = 'id.example.test';

let ceremonies = 0;
const nextCeremony = (kind: string) => `${kind}:${++ceremonies}`;

describe('passkeys and security keys (WebAuthn)', () => {
  let test: TestDatabase;
  let redis: RedisClient | null = null;
  const redisPrefix = `idp-test:${randomBytes(6).toString('hex')}:`;
  const clock = testClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  let webauthn: WebAuthn;
  let mfa: MfaService;
  let ada: { id: string; email: string; name: string };
  let bob: { id: string; email: string; name: null };

  beforeAll(async () => {
    test = await createTestDatabase();
    let challenges: AttemptStore = createSqlAttemptStore(test.db);
    if (process.env.REDIS_URL) {
      redis = createRedisClient(process.env.REDIS_URL);
      challenges = createRedisAttemptStore(redis, redisPrefix);
    }
    webauthn = createWebAuthn({ db: test.db, issuer: ISSUER, brandName: 'Acme ID', clock, challenges });
    mfa = createMfaService({ db: test.db, keys: await loadMfaKeys(test.db, undefined), issuer: ISSUER, brandName: 'Acme ID', clock });
    ada = { id: (await insertAccount(test.db, { email: 'ada@example.com', emailVerified: true, passwordHash: null })).id, email: 'ada@example.com', name: 'Ada Lovelace' };
    bob = { id: (await insertAccount(test.db, { email: 'bob@example.com', emailVerified: true, passwordHash: null })).id, email: 'bob@example.com', name: null };
  });
  afterAll(async () => {
    if (redis) {
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
    await test?.drop();
  });

  /** Registers a new passkey for the account through a full ceremony; its factor and credential ids. */
  async function enrol(authenticator: SoftAuthenticator, account: typeof ada | typeof bob, knobs: Parameters<SoftAuthenticator['register']>[1] = {}, name = 'Key') {
    const ceremony = nextCeremony('account');
    const response = authenticator.register(await webauthn.registrationOptions(ceremony, account), knobs);
    const result = await webauthn.verifyRegistration(ceremony, account.id, response, name);
    if (!result.ok) throw new Error(`registration refused: ${result.reason}`);
    return { factorId: result.factorId, credentialId: response.id };
  }

  it('takes its relying party from the issuer: its host is the RP id, its origin the only one accepted', () => {
    expect(webauthn.rpId).toBe(RP_ID);
    expect(webauthn.origin).toBe(ORIGIN);
  });

  it('registers a discoverable passkey and signs in with it as a second factor, amr by the UV flag', async () => {
    const laptop = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const ceremony = nextCeremony('account');
    const options = await webauthn.registrationOptions(ceremony, ada);
    expect(options).toMatchObject({
      rp: { id: RP_ID, name: 'Acme ID' },
      user: { id: Buffer.from(ada.id.replaceAll('-', ''), 'hex').toString('base64url'), name: 'ada@example.com', displayName: 'Ada Lovelace' },
      attestation: 'none',
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' },
      excludeCredentials: [],
    });
    expect(options.pubKeyCredParams.map((param) => param.alg)).toEqual([-8, -7, -257]);
    const response = laptop.register(options, { transports: ['internal', 'hybrid'] });
    const registered = await webauthn.verifyRegistration(ceremony, ada.id, response, '  Work laptop  ');
    expect(registered).toEqual({ ok: true, factorId: expect.any(String) });
    const factorId = (registered as { factorId: string }).factorId;

    const { rows } = await test.db.query<Record<string, unknown>>(
      'SELECT kind, name, credential_id, sign_count, transports, backed_up, backup_eligible, device_type, aaguid, confirmed_at FROM mfa_factors WHERE id = $1',
      [factorId],
    );
    expect(rows[0]).toMatchObject({
      kind: 'webauthn', name: 'Work laptop', credential_id: response.id, sign_count: '0', transports: ['internal', 'hybrid'],
      backed_up: false, backup_eligible: false, device_type: 'singleDevice', aaguid: '00000000-0000-0000-0000-000000000000',
    });
    expect(rows[0]!.confirmed_at).toBeInstanceOf(Date);
    expect(await webauthn.hasPasskey(ada.id)).toBe(true);
    expect(await webauthn.hasPasskey(bob.id)).toBe(false);
    expect(await mfa.hasFactor(ada.id)).toBe(true);

    // A second factor after Ada's password: only her keys are offered.
    const signIn = nextCeremony('interaction');
    const request = await webauthn.authenticationOptions(signIn, ada.id);
    expect(request).toMatchObject({ rpId: RP_ID, userVerification: 'preferred', allowCredentials: [{ id: response.id, type: 'public-key', transports: ['internal', 'hybrid'] }] });
    const touched = await webauthn.verifyAuthentication(signIn, laptop.authenticate(request, { userVerified: false }), ada.id);
    expect(touched).toEqual({ ok: true, accountId: ada.id, factorId, amr: ['hwk', 'user'], userVerified: false });
    // With the password before it, a device-bound key is two factors, and phishing-resistant.
    expect(levelOf(combineAmr(['pwd'], (touched as { amr: string[] }).amr))).toBe('phishing-resistant');

    const verifiedCeremony = nextCeremony('interaction');
    const withPin = await webauthn.verifyAuthentication(verifiedCeremony, laptop.authenticate(await webauthn.authenticationOptions(verifiedCeremony, ada.id)), ada.id);
    expect(withPin).toMatchObject({ ok: true, amr: ['hwk', 'user', 'mfa'], userVerified: true });
    const used = await test.db.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM mfa_factors WHERE id = $1', [factorId]);
    expect(used.rows[0]!.last_used_at).toBeInstanceOf(Date);
  });

  it('signs in without a password with a synced passkey: an empty allow list, UV required, the user handle names the account', async () => {
    const phone = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const { factorId } = await enrol(phone, bob, { backupEligible: true, backedUp: true });
    const ceremony = nextCeremony('interaction');
    const request = await webauthn.authenticationOptions(ceremony);
    expect(request).toMatchObject({ rpId: RP_ID, userVerification: 'required', allowCredentials: [] });
    const answer = phone.authenticate(request);
    expect(answer.response.userHandle).toBe(Buffer.from(bob.id.replaceAll('-', ''), 'hex').toString('base64url'));
    const result = await webauthn.verifyAuthentication(ceremony, answer);
    expect(result).toEqual({ ok: true, accountId: bob.id, factorId, amr: ['swk', 'user', 'mfa'], userVerified: true });
    expect(levelOf((result as { amr: string[] }).amr)).toBe('phishing-resistant');
    const { rows } = await test.db.query<{ device_type: string; backed_up: boolean }>('SELECT device_type, backed_up FROM mfa_factors WHERE id = $1', [factorId]);
    expect(rows[0]).toEqual({ device_type: 'multiDevice', backed_up: true });
  });

  it('refuses a passwordless assertion without user verification, or without or with another user handle', async () => {
    const key = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    await enrol(key, bob);
    const tries = [{ userVerified: false }, { userHandle: null }, { userHandle: Buffer.from(ada.id.replaceAll('-', ''), 'hex').toString('base64url') }, { userHandle: 'AAAA' }];
    for (const knobs of tries) {
      const ceremony = nextCeremony('interaction');
      const answer = key.authenticate(await webauthn.authenticationOptions(ceremony), knobs);
      expect(await webauthn.verifyAuthentication(ceremony, answer), JSON.stringify(knobs)).toEqual({ ok: false, reason: 'invalid' });
    }
    // The same key, verified and naming its account, is let in.
    const ceremony = nextCeremony('interaction');
    expect(await webauthn.verifyAuthentication(ceremony, key.authenticate(await webauthn.authenticationOptions(ceremony)))).toMatchObject({ ok: true, accountId: bob.id });
  });

  it('refuses answers made for another origin or another RP id, at registration and at sign-in', async () => {
    const key = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    for (const knobs of [{ origin: 'https://id.example.test.evil.example' }, { origin: 'http://id.example.test:8443' }, { rpId: 'example.test' }]) {
      const ceremony = nextCeremony('account');
      const response = key.register(await webauthn.registrationOptions(ceremony, ada), knobs);
      expect(await webauthn.verifyRegistration(ceremony, ada.id, response, 'Key'), JSON.stringify(knobs)).toEqual({ ok: false, reason: 'invalid' });
    }
    await enrol(key, ada);
    for (const knobs of [{ origin: 'https://evil.example' }, { rpId: 'evil.example' }]) {
      const ceremony = nextCeremony('interaction');
      const answer = key.authenticate(await webauthn.authenticationOptions(ceremony, ada.id), knobs);
      expect(await webauthn.verifyAuthentication(ceremony, answer, ada.id), JSON.stringify(knobs)).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('uses a challenge once: a repeated answer, an answer after a failed one, and racing answers find it gone', async () => {
    const key = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const ceremony = nextCeremony('account');
    const response = key.register(await webauthn.registrationOptions(ceremony, ada));
    expect(await webauthn.verifyRegistration(ceremony, ada.id, response, 'Key')).toMatchObject({ ok: true });
    expect(await webauthn.verifyRegistration(ceremony, ada.id, response, 'Key')).toEqual({ ok: false, reason: 'expired' });

    const signIn = nextCeremony('interaction');
    const request = await webauthn.authenticationOptions(signIn, ada.id);
    const good = key.authenticate(request);
    expect(await webauthn.verifyAuthentication(signIn, key.authenticate(request, { origin: 'https://evil.example' }), ada.id)).toEqual({ ok: false, reason: 'invalid' });
    expect(await webauthn.verifyAuthentication(signIn, good, ada.id)).toEqual({ ok: false, reason: 'expired' });

    const raced = nextCeremony('interaction');
    const answer = key.authenticate(await webauthn.authenticationOptions(raced, ada.id));
    const results = await Promise.all(Array.from({ length: 5 }, () => webauthn.verifyAuthentication(raced, answer, ada.id)));
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    expect(results.filter((result) => !result.ok && result.reason === 'expired')).toHaveLength(4);
  });

  it('lets a ceremony expire after five minutes, by the service clock', async () => {
    const key = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const ceremony = nextCeremony('account');
    const response = key.register(await webauthn.registrationOptions(ceremony, ada));
    clock.advance(301_000);
    expect(await webauthn.verifyRegistration(ceremony, ada.id, response, 'Key')).toEqual({ ok: false, reason: 'expired' });
  });

  it('keeps registration and authentication challenges apart, and a registration to its account', async () => {
    const key = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const { credentialId } = await enrol(key, ada);
    // Options for a new passkey, answered as if they were a sign-in.
    const registration = nextCeremony('account');
    const creation = await webauthn.registrationOptions(registration, ada);
    const asSignIn = key.authenticate({ challenge: creation.challenge, rpId: RP_ID, allowCredentials: [] }, { credentialId });
    expect(await webauthn.verifyAuthentication(registration, asSignIn, ada.id)).toEqual({ ok: false, reason: 'invalid' });
    // Options for a sign-in, answered with a new credential.
    const signIn = nextCeremony('account');
    const request = await webauthn.authenticationOptions(signIn, ada.id);
    const asRegistration = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID }).register({ ...creation, challenge: request.challenge, excludeCredentials: [] });
    expect(await webauthn.verifyRegistration(signIn, ada.id, asRegistration, 'Key')).toEqual({ ok: false, reason: 'invalid' });
    // Ada's registration ceremony, finished for Bob.
    const other = nextCeremony('account');
    const forAda = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID }).register(await webauthn.registrationOptions(other, ada));
    expect(await webauthn.verifyRegistration(other, bob.id, forAda, 'Key')).toEqual({ ok: false, reason: 'invalid' });
  });

  it("refuses another account's key: a second factor for Ada answered with Bob's, or a passwordless sign-in expected for Ada", async () => {
    const bobs = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const { credentialId } = await enrol(bobs, bob);
    const forAda = nextCeremony('interaction');
    const answer = bobs.authenticate(await webauthn.authenticationOptions(forAda, ada.id), { credentialId });
    expect(await webauthn.verifyAuthentication(forAda, answer, ada.id)).toEqual({ ok: false, reason: 'wrong_account' });
    const passwordless = nextCeremony('interaction');
    const discoverable = bobs.authenticate(await webauthn.authenticationOptions(passwordless));
    expect(await webauthn.verifyAuthentication(passwordless, discoverable, ada.id)).toEqual({ ok: false, reason: 'wrong_account' });
  });

  it('refuses a signature counter that does not move forward (a cloned key) and leaves the stored one alone', async () => {
    const key = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const { factorId } = await enrol(key, ada, { counter: 5 });
    const signInWith = async (knobs: Parameters<SoftAuthenticator['authenticate']>[1]) => {
      const ceremony = nextCeremony('interaction');
      return webauthn.verifyAuthentication(ceremony, key.authenticate(await webauthn.authenticationOptions(ceremony, ada.id), knobs), ada.id);
    };
    expect(await signInWith({})).toMatchObject({ ok: true }); // 6
    expect(await signInWith({ counter: 6 })).toEqual({ ok: false, reason: 'cloned' });
    expect(await signInWith({ counter: 2 })).toEqual({ ok: false, reason: 'cloned' });
    expect(await signInWith({ counter: 0 })).toEqual({ ok: false, reason: 'cloned' });
    const { rows } = await test.db.query<{ sign_count: string }>('SELECT sign_count FROM mfa_factors WHERE id = $1', [factorId]);
    expect(rows[0]!.sign_count).toBe('6');
    expect(await signInWith({ counter: 9 })).toMatchObject({ ok: true });
    // Two assertions with the same counter, verified at once: the counter is taken atomically.
    const [first, second] = [nextCeremony('interaction'), nextCeremony('interaction')];
    const [optionsA, optionsB] = await Promise.all([webauthn.authenticationOptions(first, ada.id), webauthn.authenticationOptions(second, ada.id)]);
    const racing = await Promise.all([
      webauthn.verifyAuthentication(first, key.authenticate(optionsA, { counter: 12 }), ada.id),
      webauthn.verifyAuthentication(second, key.authenticate(optionsB, { counter: 12 }), ada.id),
    ]);
    expect(racing.map((result) => (result.ok ? 'ok' : result.reason)).sort()).toEqual(['cloned', 'ok']);

    // An authenticator without a counter (always 0, as synced passkeys do) is fine every time.
    const synced = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    await enrol(synced, ada, { backupEligible: true });
    for (let use = 0; use < 3; use++) {
      const ceremony = nextCeremony('interaction');
      expect(await webauthn.verifyAuthentication(ceremony, synced.authenticate(await webauthn.authenticationOptions(ceremony, ada.id)), ada.id)).toMatchObject({ ok: true, amr: ['swk', 'user', 'mfa'] });
    }
  });

  it('refuses an assertion whose backup eligibility differs from the one registered (WebAuthn L3 §7.2)', async () => {
    const key = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    await enrol(key, ada);
    const ceremony = nextCeremony('interaction');
    const answer = key.authenticate(await webauthn.authenticationOptions(ceremony, ada.id), { backupEligible: true, backedUp: true });
    expect(await webauthn.verifyAuthentication(ceremony, answer, ada.id)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses an unknown credential, and a credential id registered before (for anyone)', async () => {
    const key = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    // A credential the authenticator made but the server never accepted.
    const ceremony = nextCeremony('account');
    const stranger = key.register(await webauthn.registrationOptions(ceremony, ada), { origin: 'https://evil.example' });
    expect(await webauthn.verifyRegistration(ceremony, ada.id, stranger, 'Key')).toEqual({ ok: false, reason: 'invalid' });
    const signIn = nextCeremony('interaction');
    const answer = key.authenticate(await webauthn.authenticationOptions(signIn), { credentialId: stranger.id });
    expect(await webauthn.verifyAuthentication(signIn, answer)).toEqual({ ok: false, reason: 'unknown_credential' });

    const { credentialId } = await enrol(key, ada);
    // The options exclude Ada's keys, so a real authenticator refuses to register one twice...
    const again = nextCeremony('account');
    const options = await webauthn.registrationOptions(again, ada);
    expect(options.excludeCredentials?.map((descriptor) => descriptor.id)).toContain(credentialId);
    expect(() => key.register(options)).toThrow(/InvalidStateError/);
    // ...and the server refuses the same credential id again, for her or for anyone else.
    expect(await webauthn.verifyRegistration(again, ada.id, key.register(options, { credentialId }), 'Key')).toEqual({ ok: false, reason: 'duplicate' });
    const forBob = nextCeremony('account');
    const copied = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID }).register(await webauthn.registrationOptions(forBob, bob), { credentialId });
    expect(await webauthn.verifyRegistration(forBob, bob.id, copied, 'Key')).toEqual({ ok: false, reason: 'duplicate' });
  });

  it('answers "invalid" to malformed responses of every shape, never throwing', async () => {
    const key = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const { credentialId } = await enrol(key, ada);
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    const huge = 'A'.repeat(1_000_000);
    const shapes = (id: string): unknown[] => [
      null, undefined, 42, 'response', [], {}, { id: 1 }, { __proto__: { id } },
      { id, rawId: id, type: 'public-key' },
      { id, rawId: id, type: 'public-key', response: null },
      { id, rawId: id, type: 'password', response: { clientDataJSON: b64('{}'), attestationObject: 'AA', authenticatorData: 'AA', signature: 'AA' } },
      { id, rawId: id, type: 'public-key', response: { clientDataJSON: 7, attestationObject: [], authenticatorData: {}, signature: true } },
      { id, rawId: id, type: 'public-key', response: { clientDataJSON: '!!!', attestationObject: '%%%', authenticatorData: '***', signature: '===' } },
      { id, rawId: id, type: 'public-key', response: { clientDataJSON: huge, attestationObject: huge, authenticatorData: huge, signature: huge } },
      { id: huge, rawId: huge, type: 'public-key', response: { clientDataJSON: b64('{}'), attestationObject: 'AA', authenticatorData: 'AA', signature: 'AA' } },
      { id, rawId: id, type: 'public-key', response: { clientDataJSON: b64('not json'), attestationObject: 'oWNmbXQ', authenticatorData: 'AAAA', signature: 'AAAA' } },
      { id, rawId: id, type: 'public-key', response: { clientDataJSON: b64('{"type":"webauthn.get"}'), attestationObject: b64('\xff\xff'), authenticatorData: b64('short'), signature: b64('x') } },
      { id, rawId: id, type: 'public-key', response: { clientDataJSON: b64('{}'), attestationObject: 'AA', authenticatorData: 'AA', signature: 'AA', transports: 'usb', userHandle: 5 } },
    ];
    for (const shape of shapes(credentialId)) {
      const registration = nextCeremony('account');
      await webauthn.registrationOptions(registration, ada);
      await expect(webauthn.verifyRegistration(registration, ada.id, shape, 'Key')).resolves.toEqual({ ok: false, reason: 'invalid' });
      const signIn = nextCeremony('interaction');
      await webauthn.authenticationOptions(signIn, ada.id);
      await expect(webauthn.verifyAuthentication(signIn, shape, ada.id)).resolves.toEqual({ ok: false, reason: 'invalid' });
    }
    // A well-formed answer with one thing wrong that only the library sees: a bad signature, UP missing.
    const signIn = nextCeremony('interaction');
    const request = await webauthn.authenticationOptions(signIn, ada.id);
    const forged = key.authenticate(request);
    const signature = Buffer.from(forged.response.signature, 'base64url');
    signature[signature.length - 1]! ^= 0x01; // the last byte of s, inside a still well-formed DER
    forged.response.signature = signature.toString('base64url');
    expect(await webauthn.verifyAuthentication(signIn, forged, ada.id)).toEqual({ ok: false, reason: 'invalid' });
    const absent = nextCeremony('interaction');
    const notPresent = key.authenticate(await webauthn.authenticationOptions(absent, ada.id), { userPresent: false });
    expect(await webauthn.verifyAuthentication(absent, notPresent, ada.id)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('renames a passkey, lists it with its details beside other factors, and removes it through the MFA service', async () => {
    const carol = { id: (await insertAccount(test.db, { email: 'carol@example.com', emailVerified: true, passwordHash: null })).id, email: 'carol@example.com', name: 'Carol' };
    const key = createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const { factorId: deviceBound, credentialId } = await enrol(key, carol, { transports: ['usb', 'nfc', 'warp-drive'] }, '');
    const { factorId: synced } = await enrol(createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID }), carol, { backupEligible: true, backedUp: false }, 'Phone');
    await mfa.enrolTotp(carol.id, carol.email);

    expect(await webauthn.renamePasskey(carol.id, deviceBound, '  Blue\nsecurity key ')).toBe(true);
    expect(await webauthn.renamePasskey(bob.id, deviceBound, 'Mine now')).toBe(false);
    expect(await webauthn.renamePasskey(carol.id, 'not-a-uuid', 'Key')).toBe(false);
    expect(await webauthn.renamePasskey(carol.id, synced, 'x'.repeat(70))).toBe(true);

    const factors = await mfa.listFactors(carol.id);
    expect(factors).toEqual([
      expect.objectContaining({ id: deviceBound, kind: 'webauthn', name: 'Blue security key', confirmed: true, backedUp: false, deviceType: 'singleDevice', transports: ['usb', 'nfc'] }),
      expect.objectContaining({ id: synced, kind: 'webauthn', name: 'x'.repeat(64), confirmed: true, backedUp: false, deviceType: 'multiDevice', transports: ['internal'] }),
      expect.objectContaining({ kind: 'totp', confirmed: false, backedUp: null, deviceType: null, transports: null }),
    ]);
    expect(JSON.stringify(factors)).not.toContain(credentialId);

    expect(await mfa.removeFactor(carol.id, deviceBound)).toBe(true);
    const ceremony = nextCeremony('interaction');
    const answer = key.authenticate(await webauthn.authenticationOptions(ceremony, carol.id), { credentialId });
    expect(await webauthn.verifyAuthentication(ceremony, answer, carol.id)).toEqual({ ok: false, reason: 'unknown_credential' });
    expect(await mfa.removeAll(carol.id)).toBe(2);
    expect(await webauthn.hasPasskey(carol.id)).toBe(false);
  });

  it('names an empty passkey "Passkey"', async () => {
    const { factorId } = await enrol(createSoftAuthenticator({ origin: ORIGIN, rpId: RP_ID }), bob, {}, '   ');
    expect((await mfa.listFactors(bob.id)).find((factor) => factor.id === factorId)?.name).toBe('Passkey');
  });
});

describe('passkey scripts are served by the app', { timeout: 120_000 }, () => {
  it('serves our script and the WebAuthn browser library, and wires the service to the issuer', async () => {
    const app = await startTestApp();
    try {
      expect(app.deps.webauthn.origin).toBe(app.issuer);
      for (const [path, marker] of [['/assets/passkey.js', 'data-passkey'], ['/assets/webauthn-browser.js', 'SimpleWebAuthnBrowser']] as const) {
        const response = await fetch(`${app.issuer}${path}`);
        expect(response.status, path).toBe(200);
        expect(response.headers.get('content-type'), path).toMatch(/^text\/javascript/);
        expect(await response.text(), path).toContain(marker);
      }
    } finally {
      await app.close();
    }
  });
});
