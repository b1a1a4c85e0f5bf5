import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createSoftAuthenticator } from '../helpers/soft-authenticator.ts';
import { csrfOf, openConsole, seedPerson, url } from './console.ts';

/*
 * A passkey can be an account's only way in (no password, no upstream account): removing it
 * then is refused, as unlinking the last upstream account is (src/federation/account-links.ts).
 */
describe('the last way to sign in stays', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => app?.close());

  it('refuses to remove the only passkey of an account without a password, and removes one of two', async () => {
    const account = await seedPerson(app, 'only-passkey@example.com');
    const { browser, page } = await openConsole(app, { email: account.email });
    // Two passkeys on two devices (each authenticator refuses a second credential for the account).
    const ids: string[] = [];
    for (const name of ['Laptop', 'Phone']) {
      const authenticator = createSoftAuthenticator({ origin: new URL(app.issuer).origin, rpId: new URL(app.issuer).hostname });
      const options = await app.deps.webauthn.registrationOptions(`test:${name}`, { id: account.id, email: account.email });
      const registered = await app.deps.webauthn.verifyRegistration(`test:${name}`, account.id, authenticator.register(options), name);
      if (!registered.ok) throw new Error('registration failed');
      ids.push(registered.factorId);
    }
    // Then the password goes, as for an account made through an upstream and later unlinked.
    await app.deps.db.query('UPDATE accounts SET password_hash = NULL WHERE id = $1', [account.id]);
    const csrf = csrfOf(page.html);
    const remove = (id: string) => browser.request(url(app, `/account/security/factors/${id}/remove`), { form: { csrf } });
    expect((await remove(ids[0]!)).status).toBe(303);
    const refused = await remove(ids[1]!);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('only way left to sign in');
    expect((await app.deps.mfa.listFactors(account.id)).map((factor) => factor.id)).toEqual([ids[1]]);
  });
});
