import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProviderStateFile, type ProviderStateFile } from '../../src/db/state-sqlite.ts';
import { createLimiterFactory, limitKey } from '../../src/security/rate-limits.ts';
import { createLoginProtection } from '../../src/security/login-protection.ts';
import type { Database } from '../../src/db/database.ts';

/*
 * admit() takes its three points (run of failures, account, IP) in one round trip and checks
 * them in order afterwards; what a refusal leaves behind must be what checking one at a time
 * left: a point the order never reached is given back.
 */
describe('login protection', () => {
  let dir: string;
  let file: ProviderStateFile;
  let limiter: ReturnType<typeof createLimiterFactory>;
  const lockout = { threshold: 2, stepSeconds: 60, maxSeconds: 600, resetSeconds: 3600 };
  const protection = (perAccount = 100, perIp = 100) =>
    createLoginProtection(limiter, { lockout, perAccount: { points: perAccount, durationSeconds: 3600 }, perIp: { points: perIp, durationSeconds: 3600 } });
  /** Points spent so far in a limiter, read by taking none. */
  const spent = async (name: string, key: string) => (await limiter(name, { points: 1_000, durationSeconds: 3600 }).take(limitKey(key), 0)).consumed;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-login-protection-'));
    file = createProviderStateFile(dir);
    file.open();
    limiter = createLimiterFactory({ redis: null, db: {} as Database, sqlite: file, prefix: 'test:' });
  });
  afterEach(() => {
    file.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('spends neither the account nor the IP budget on an attempt refused because the email is locked', async () => {
    const guard = protection();
    for (let i = 0; i < 2; i++) {
      const admission = await guard.admit('a@example.com', '192.0.2.1');
      if (!admission.allowed) throw new Error('expected to be admitted');
      await guard.failed(admission.attempt);
    }
    expect(await spent('login-account', 'a@example.com')).toBe(2);
    expect(await spent('login-ip', '192.0.2.1')).toBe(2);
    const refused = await guard.admit('a@example.com', '192.0.2.1');
    expect(refused).toMatchObject({ allowed: false, reason: 'locked' });
    expect(await spent('login-account', 'a@example.com')).toBe(2);
    expect(await spent('login-ip', '192.0.2.1')).toBe(2);
  });

  it('spends no IP point on an attempt refused for its account, and gives the account point back when the IP is over', async () => {
    const overAccount = protection(1, 100);
    const first = await overAccount.admit('b@example.com', '192.0.2.2');
    if (!first.allowed) throw new Error('expected to be admitted');
    await overAccount.succeeded(first.attempt);
    // Spend the one account point for good, then try again.
    await limiter('login-account', { points: 1, durationSeconds: 3600 }).take(limitKey('b@example.com'));
    expect(await overAccount.admit('b@example.com', '192.0.2.2')).toMatchObject({ allowed: false, reason: 'account_limit' });
    expect(await spent('login-ip', '192.0.2.2')).toBe(0);

    const overIp = protection(100, 1);
    await limiter('login-ip', { points: 1, durationSeconds: 3600 }).take(limitKey('192.0.2.3'));
    expect(await overIp.admit('c@example.com', '192.0.2.3')).toMatchObject({ allowed: false, reason: 'ip_limit' });
    expect(await spent('login-account', 'c@example.com')).toBe(0);
  });

  it('admits with each point taken once, and a success gives the account and IP points back', async () => {
    const guard = protection();
    const admission = await guard.admit('d@example.com', '192.0.2.4');
    expect(admission).toMatchObject({ allowed: true, attempt: { streak: 1, throughGate: false } });
    expect(await spent('login-streak', 'd@example.com')).toBe(1);
    if (admission.allowed) await guard.succeeded(admission.attempt);
    expect(await spent('login-account', 'd@example.com')).toBe(0);
    expect(await spent('login-ip', '192.0.2.4')).toBe(0);
  });
});
