import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOTP } from 'otpauth';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { testClock } from '../helpers/clock.ts';
import { createMfaService } from '../../src/mfa/service.ts';
import { loadMfaKeys } from '../../src/mfa/keys.ts';
import { insertAccount } from '../../src/accounts/repository.ts';

/*
 * An account that must keep a factor (src/mfa/policy.ts) keeps one even when two removals race
 * for its last two (two tabs of the account console): the check and the delete are one locked
 * step. And a factor's name stays within what the database keeps.
 */
describe('the last factor stays, and names stay valid', () => {
  let test: TestDatabase;
  const clock = testClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  let mfa: ReturnType<typeof createMfaService>;
  let accountId: string;

  beforeAll(async () => {
    test = await createTestDatabase();
    mfa = createMfaService({ db: test.db, keys: await loadMfaKeys(test.db, undefined), issuer: 'http://id.test', brandName: 'Acme ID', clock });
    accountId = (await insertAccount(test.db, { email: 'keep@example.com', emailVerified: true, passwordHash: null })).id;
  });
  afterAll(async () => test?.drop());

  async function confirmedApp(name: string): Promise<string> {
    const enrolment = await mfa.enrolTotp(accountId, 'keep@example.com', name);
    clock.advance(30_000);
    const code = new TOTP({ secret: enrolment.secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: clock.now() });
    expect(await mfa.confirmTotp(accountId, enrolment.factorId, code)).toBe('ok');
    return enrolment.factorId;
  }

  it('lets exactly one of two racing removals of the last two factors through', async () => {
    const [a, b] = [await confirmedApp('Phone'), await confirmedApp('Tablet')];
    const outcomes = await Promise.all([mfa.removeFactorKeepingOne(accountId, a), mfa.removeFactorKeepingOne(accountId, b)]);
    expect(outcomes.sort()).toEqual(['deleted', 'last']);
    expect((await mfa.listFactors(accountId)).filter((factor) => factor.confirmed)).toHaveLength(1);
    const survivor = (await mfa.listFactors(accountId))[0]!.id;
    expect(await mfa.removeFactorKeepingOne(accountId, survivor)).toBe('last');
    expect(await mfa.removeFactorKeepingOne(accountId, '00000000-0000-0000-0000-000000000000')).toBe('missing');
  });

  it('refuses names that are empty, too long or contain control characters, instead of failing', async () => {
    const id = (await mfa.listFactors(accountId))[0]!.id;
    expect(await mfa.renameFactor(accountId, id, 'x'.repeat(65))).toBe(false);
    expect(await mfa.renameFactor(accountId, id, '')).toBe(false);
    expect(await mfa.renameFactor(accountId, id, 'a\u0000b')).toBe(false);
    expect(await mfa.renameFactor(accountId, id, 'Work phone')).toBe(true);
    expect((await mfa.listFactors(accountId))[0]!.name).toBe('Work phone');
  });
});
