import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOTP } from 'otpauth';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';
import { seedWebClient } from '../helpers/oidc.ts';
import { childEnv, spawnIdp } from '../helpers/cli.ts';

/*
 * Operators reset the second factors of someone who lost a device, from the CLI and the admin
 * API; every reset is audited with who did it, and no secret is ever shown.
 */

const codeNow = (secret: string) => new TOTP({ secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate();

describe('operators and second factors: list and reset', { timeout: 120_000 }, () => {
  let app: TestApp;
  let admin: string;
  let accountId: string;
  const email = 'ada@example.com';

  async function enrol(name: string): Promise<string> {
    const enrolment = await app.deps.mfa.enrolTotp(accountId, email, name);
    expect(await app.deps.mfa.confirmTotp(accountId, enrolment.factorId, codeNow(enrolment.secret))).toBe('ok');
    return enrolment.factorId;
  }
  const resets = async () => (await app.deps.db.query<{ details: { actor: string; removed: number } }>(
    "SELECT details FROM audit_events WHERE event = 'mfa.reset' AND account_id = $1 ORDER BY occurred_at", [accountId],
  )).rows.map((row) => row.details);

  beforeAll(async () => {
    app = await startTestApp();
    await seedWebClient(app);
    accountId = (await app.deps.accounts.findByEmail(email))!.id;
    admin = await adminToken(app);
  });
  afterAll(async () => app?.close());

  it('lists and removes factors through the admin API', async () => {
    const phone = await enrol('Phone');
    await enrol('Tablet');
    await app.deps.mfa.newRecoveryCodes(accountId);
    const listed = await adminCall(app, admin, 'GET', `/users/${accountId}/mfa`);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ recoveryCodesLeft: 10, factors: [{ name: 'Phone', kind: 'totp', confirmed: true }, { name: 'Tablet' }] });
    expect(JSON.stringify(listed.body)).not.toMatch(/secret/i);
    expect(await adminCall(app, admin, 'DELETE', `/users/${accountId}/mfa/${phone}`)).toMatchObject({ status: 200, body: { removed: 1 } });
    expect(await adminCall(app, admin, 'DELETE', `/users/${accountId}/mfa/${phone}`)).toMatchObject({ status: 404, body: { error: 'mfa.factor_not_found' } });
    expect(await adminCall(app, admin, 'DELETE', `/users/${accountId}/mfa`)).toMatchObject({ status: 200, body: { removed: 1 } });
    expect(await app.deps.mfa.hasFactor(accountId)).toBe(false);
    expect(await app.deps.mfa.recoveryCodesLeft(accountId)).toBe(0);
    expect((await resets()).map((details) => details.removed)).toEqual([1, 1]);
  });

  it('lists and resets from the idp CLI', async () => {
    await enrol('Phone');
    const env = childEnv(app.storage.settings);
    const listed = await spawnIdp(['user', 'mfa', 'list', '--email', email, '--json'], env);
    expect(listed, listed.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(listed.stdout)).toMatchObject({ email, factors: [{ name: 'Phone', kind: 'totp' }] });
    const reset = await spawnIdp(['user', 'mfa', 'reset', '--email', email], env);
    expect(reset, reset.stderr).toMatchObject({ code: 0, stdout: `removed 1 second factor of ${email}\n` });
    const unknown = await spawnIdp(['user', 'mfa', 'reset', '--email', email, '--factor', '00000000-0000-4000-8000-000000000000'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^idp: no factor/);
    expect((await resets()).at(-1)).toMatchObject({ actor: 'cli', removed: 1 });
  });
});
