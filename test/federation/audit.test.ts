import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient } from '../helpers/oidc.ts';
import { startFakeOidcUpstream, type FakeOidcUpstream } from '../helpers/fake-oidc-upstream.ts';
import { allowIfAsked, asPage, pressUpstreamButton, redeem } from '../helpers/federation.ts';

/** The newest audit event of that name, waiting briefly for one written after the response. */
async function lastEvent(app: TestApp, event: string) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { rows } = await app.deps.db.query<{ event: string; reason: string | null; account_id: string | null; details: Record<string, unknown> | null }>(
      'SELECT event, reason, account_id, details FROM audit_events WHERE event = $1 ORDER BY id DESC LIMIT 1',
      [event],
    );
    if (rows[0]) return rows[0];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

describe('federated sign-ins, sign-ups, links, unlinks and refusals are audit events', () => {
  let google: FakeOidcUpstream;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;

  beforeAll(async () => {
    google = await startFakeOidcUpstream();
    app = await startTestApp(google.env('google'));
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    await google?.close();
  });

  async function signInWithGoogle() {
    const browser = new Browser();
    const { request, step } = await pressUpstreamButton(app, rp.config, browser, 'google');
    return redeem(rp.config, await allowIfAsked(app, browser, step), request);
  }

  it('records the first sign-in as a sign-up, the next as a sign-in, and a silent link by verified email', async () => {
    google.person = { sub: 'g-audit-1', email: 'new.person@gmail.test', email_verified: true, name: 'New Person' };
    const created = (await signInWithGoogle()).claims()!.sub;
    expect(await lastEvent(app, 'federation.account_created')).toMatchObject({ reason: 'first_sign_in', account_id: created, details: { upstream: 'google' } });

    await signInWithGoogle();
    expect(await lastEvent(app, 'federation.signed_in')).toMatchObject({ account_id: created, details: { upstream: 'google' } });

    // A password account whose address Google also vouches for is linked without a question.
    await app.deps.accounts.create({ email: 'has.password@gmail.test', password: 'a long passphrase here', emailVerified: true });
    google.person = { sub: 'g-audit-2', email: 'has.password@gmail.test', email_verified: true };
    const linked = (await signInWithGoogle()).claims()!.sub;
    expect(await lastEvent(app, 'federation.linked')).toMatchObject({ reason: 'verified_email', account_id: linked });
  });

  it('records a refusal by our rules and a failure at the upstream, with the reason', async () => {
    google.person = { sub: 'g-audit-3', email: 'unverified@gmail.test', email_verified: false };
    const { step } = await pressUpstreamButton(app, rp.config, new Browser(), 'google');
    expect(asPage(step).status).toBe(400);
    expect(await lastEvent(app, 'federation.refused')).toMatchObject({ reason: 'email_unverified', details: { upstream: 'google' } });

    google.faults = { authorizeError: 'access_denied' };
    const denied = await pressUpstreamButton(app, rp.config, new Browser(), 'google');
    expect(asPage(denied.step).status).toBe(400);
    expect(await lastEvent(app, 'federation.failed')).toMatchObject({ reason: 'denied', details: { upstream: 'google', upstreamError: 'access_denied' } });
    google.faults = {};
  });

  it('records an operator removing a link', async () => {
    await app.deps.federation.unlink('new.person@gmail.test', 'google');
    const account = await app.deps.accounts.findByEmail('new.person@gmail.test');
    expect(await lastEvent(app, 'federation.unlinked')).toMatchObject({ account_id: account!.id, details: { upstream: 'google', actor: 'admin' } });
  });
});
