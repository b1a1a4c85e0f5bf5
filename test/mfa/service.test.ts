import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOTP } from 'otpauth';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { testClock } from '../helpers/clock.ts';
import { createMfaService } from '../../src/mfa/service.ts';
import { loadMfaKeys } from '../../src/mfa/keys.ts';
import { insertAccount } from '../../src/accounts/repository.ts';

/*
 * Authenticator apps and recovery codes on the real database (embedded or PostgreSQL): sealed
 * secrets, a code good once across concurrent checks, drift of one step, recovery codes once each.
 */

const codeAt = (secret: string, ms: number) => new TOTP({ secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: ms });

describe('second factors: authenticator app and recovery codes', () => {
  let test: TestDatabase;
  const clock = testClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  let mfa: ReturnType<typeof createMfaService>;
  let accountId: string;

  beforeAll(async () => {
    test = await createTestDatabase();
    const keys = await loadMfaKeys(test.db, undefined);
    expect(keys.configured).toBe(false);
    mfa = createMfaService({ db: test.db, keys, issuer: 'http://id.test', brandName: 'Acme ID', clock });
    accountId = (await insertAccount(test.db, { email: 'ada@example.com', emailVerified: true, passwordHash: null })).id;
  });
  afterAll(async () => test?.drop());

  it('enrols from the text secret, seals it at rest, and confirms with a first code that is then used up', async () => {
    const enrolment = await mfa.enrolTotp(accountId, 'ada@example.com');
    expect(enrolment.uri).toMatch(/^otpauth:\/\/totp\/Acme%20ID:ada%40example\.com\?/);
    expect(enrolment.qr).toMatch(/^data:image\/svg\+xml;base64,/);
    const { rows } = await test.db.query<{ secret_sealed: string }>('SELECT secret_sealed FROM mfa_factors WHERE id = $1', [enrolment.factorId]);
    expect(rows[0]!.secret_sealed).not.toContain(enrolment.secret);
    expect(await mfa.hasFactor(accountId)).toBe(false); // not before the first code
    const code = codeAt(enrolment.secret, clock.now());
    expect(await mfa.confirmTotp(accountId, enrolment.factorId, code)).toBe('ok');
    expect(await mfa.hasFactor(accountId)).toBe(true);
    expect(await mfa.verifyTotp(accountId, code)).toBe('replayed');
  });

  it('accepts one step of drift, refuses two, and accepts a code once even when checked in parallel', async () => {
    const enrolment = await mfa.enrolTotp(accountId, 'ada@example.com', 'Phone');
    expect(await mfa.confirmTotp(accountId, enrolment.factorId, codeAt(enrolment.secret, clock.now()))).toBe('ok');
    clock.advance(60_000);
    expect(await mfa.verifyTotp(accountId, codeAt(enrolment.secret, clock.now() + 60_000))).toBe('invalid');
    expect(await mfa.verifyTotp(accountId, codeAt(enrolment.secret, clock.now() - 60_000))).toBe('invalid');
    const next = codeAt(enrolment.secret, clock.now() + 30_000);
    const results = await Promise.all(Array.from({ length: 8 }, () => mfa.verifyTotp(accountId, next)));
    expect(results.filter((result) => result === 'ok')).toHaveLength(1);
    // After a later step was taken, an earlier code (still inside the window) is refused too.
    expect(await mfa.verifyTotp(accountId, codeAt(enrolment.secret, clock.now()))).toBe('replayed');
    expect(await mfa.verifyTotp(accountId, '12 34')).toBe('malformed');
  });

  it('uses each recovery code once, says how many are left, and new codes replace the old', async () => {
    const codes = await mfa.newRecoveryCodes(accountId);
    expect(codes).toHaveLength(10);
    expect(await mfa.useRecoveryCode(accountId, codes[0]!.toLowerCase())).toEqual({ ok: true, remaining: 9 });
    expect(await mfa.useRecoveryCode(accountId, codes[0]!)).toEqual({ ok: false });
    const racing = await Promise.all(Array.from({ length: 5 }, () => mfa.useRecoveryCode(accountId, codes[1]!)));
    expect(racing.filter((result) => result.ok)).toHaveLength(1);
    expect(await mfa.useRecoveryCode(accountId, 'not a code')).toEqual({ ok: false });
    const fresh = await mfa.newRecoveryCodes(accountId);
    expect(await mfa.useRecoveryCode(accountId, codes[2]!)).toEqual({ ok: false });
    expect(await mfa.useRecoveryCode(accountId, fresh[0]!)).toEqual({ ok: true, remaining: 9 });
  });

  it('lists factors without secrets and removes one', async () => {
    const factors = await mfa.listFactors(accountId);
    expect(factors.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(factors)).not.toMatch(/secret/i);
    expect(await mfa.removeFactor(accountId, factors[0]!.id)).toBe(true);
    expect(await mfa.removeFactor(accountId, factors[0]!.id)).toBe(false);
  });
});
