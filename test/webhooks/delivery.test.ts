import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { readForm } from '../helpers/browser.ts';
import { seedWebClient, PASSWORD } from '../helpers/oidc.ts';
import { openLoginPage } from '../helpers/self-service.ts';
import { startReceiver, type Delivery, type Receiver } from './receiver.ts';

type Rp = Awaited<ReturnType<typeof seedWebClient>>;

/** One sign-in attempt on the hosted login page, as a person would post it. */
async function signIn(app: TestApp, rp: Rp, email: string, password: string): Promise<number> {
  const login = await openLoginPage(rp.config);
  const form = readForm(login.html, '/login');
  const response = await login.browser.request(new URL(form.action, app.issuer), { form: { ...form.fields, email, password } });
  await response.text();
  return response.status;
}

interface Body {
  type: string;
  timestamp: string;
  data: { id: string; event: string; reason: string | null; accountId: string | null; email: string | null; occurredAt: string; details: Record<string, unknown> | null };
}

/** What the receiver's library accepts: verify() throws on a wrong or missing signature. */
const verified = (secret: string, delivery: Delivery): Body => new Webhook(secret).verify(delivery.body, delivery.headers) as Body;

describe('webhooks: signed audit events, in order, with retries', () => {
  let app: TestApp;
  let rp: Rp;
  const receivers: Receiver[] = [];
  const receiver = async (status?: Parameters<typeof startReceiver>[0]) => {
    const started = await startReceiver(status);
    receivers.push(started);
    return started;
  };

  beforeAll(async () => {
    // Quick retries (1-2 s, then 2-4 s), two of them, so a test can watch a delivery be given up.
    app = await startTestApp({ LOCKOUT_THRESHOLD: '3', WEBHOOK_RETRY_DELAY_SECONDS: '1', WEBHOOK_RETRY_LIMIT: '2' });
    rp = await seedWebClient(app);
    await app.deps.accounts.create({ email: 'bea@example.com', password: PASSWORD, emailVerified: true });
  });
  afterAll(async () => {
    for (const started of receivers) await started.close();
    await app?.close();
  });

  it('delivers sign-in events verifiable with the library, in order per account, filtered by type', async () => {
    const all = await receiver();
    const locks = await receiver();
    const { webhook, secret } = await app.deps.webhooks.create({ url: all.url, events: ['login.*', 'account.locked'], description: 'sign-ins' }, 'test');
    const { webhook: lockHook, secret: lockSecret } = await app.deps.webhooks.create({ url: locks.url, events: ['account.locked'] }, 'test');

    // Ada: three wrong passwords lock her account, then even the right one is refused; Bea's
    // attempts come in between.
    for (const [email, password] of [
      [rp.email, 'wrong 1'], ['bea@example.com', 'wrong b'], [rp.email, 'wrong 2'], [rp.email, 'wrong 3'],
      ['bea@example.com', PASSWORD], [rp.email, PASSWORD],
    ] as const) {
      await signIn(app, rp, email, password);
    }
    const received = await all.waitFor(7);
    const bodies = received.map((delivery) => verified(secret, delivery));
    const ada = (await app.deps.accounts.findByEmail(rp.email))!.id;
    const bea = (await app.deps.accounts.findByEmail('bea@example.com'))!.id;
    const { rows } = await app.deps.db.query<{ id: string; event: string; reason: string | null; account_id: string }>(
      "SELECT id::text, event, reason, account_id FROM audit_events WHERE event LIKE 'login.%' OR event = 'account.locked' ORDER BY id",
    );
    const recorded = (account: string) => rows.filter((row) => row.account_id === account).map((row) => `${row.event}:${row.reason ?? ''}`);
    const arrived = (account: string) => bodies.filter((body) => body.data.accountId === account).map((body) => `${body.type}:${body.data.reason ?? ''}`);
    expect(arrived(ada)).toEqual(['login.failed:bad_password', 'login.failed:bad_password', 'login.failed:bad_password', 'account.locked:']);
    expect(arrived(ada)).toEqual(recorded(ada));
    // Refused before the password is checked, that attempt names the address only (no account):
    // it is ordered with the other events about no account.
    expect(bodies.filter((body) => body.data.accountId === null).map((body) => `${body.type}:${body.data.reason}:${body.data.email}`)).toEqual([`login.failed:locked:${rp.email}`]);
    expect(arrived(bea)).toEqual(['login.failed:bad_password', 'login.succeeded:']);
    expect(arrived(bea)).toEqual(recorded(bea));

    // webhook-id is the event's own, stable id; the body is the event, with no password in it.
    for (const [index, delivery] of received.entries()) {
      expect(delivery.headers['webhook-id']).toBe(`evt_${bodies[index]!.data.id}`);
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(Math.abs(Number(delivery.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(bodies[index]!.timestamp).toBe(bodies[index]!.data.occurredAt);
      expect(delivery.body).not.toMatch(/wrong \d|correct horse/);
    }
    expect(new Set(received.map((delivery) => delivery.headers['webhook-id'])).size).toBe(7);
    // Another secret does not verify.
    expect(() => new Webhook(lockSecret).verify(received[0]!.body, received[0]!.headers)).toThrow(/signature/i);

    // The second webhook's filter lets only the lock through.
    const [lock] = await locks.waitFor(1);
    expect(verified(lockSecret, lock!)).toMatchObject({ type: 'account.locked', data: { accountId: ada, details: { seconds: 60 } } });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(locks.deliveries).toHaveLength(1);
    await app.deps.webhooks.delete(webhook.id, 'test');
    await app.deps.webhooks.delete(lockHook.id, 'test');
  });

  it('retries a delivery the receiver refused (500, then 200) with the same id and a fresh signature', async () => {
    const flaky = await receiver((_delivery, index) => (index < 2 ? 500 : 200));
    const { webhook, secret } = await app.deps.webhooks.create({ url: flaky.url, events: ['profile.updated'] }, 'test');
    await app.deps.audit.record({ event: 'profile.updated', accountId: (await app.deps.accounts.findByEmail(rp.email))!.id, details: { fields: ['name'] } });
    const attempts = await flaky.waitFor(3, 40_000);
    expect(attempts.map((attempt) => attempt.headers['webhook-id'])).toEqual(Array(3).fill(attempts[0]!.headers['webhook-id']));
    for (const attempt of attempts) expect(verified(secret, attempt).type).toBe('profile.updated');
    // Backoff: the second attempt waited at least the first delay (1 s), the third longer.
    expect(attempts[1]!.receivedAt - attempts[0]!.receivedAt).toBeGreaterThanOrEqual(900);
    expect(attempts[2]!.receivedAt - attempts[1]!.receivedAt).toBeGreaterThanOrEqual(1900);
    const metrics = await (await fetch(`${app.issuer}/metrics`)).text();
    expect(metrics).toMatch(/idp_webhook_deliveries_total\{result="retry"\} 2/);
    expect(metrics).toMatch(/idp_webhook_deliveries_total\{result="delivered"\} \d+/);
    await app.deps.webhooks.delete(webhook.id, 'test');
  });

  it('gives up after the last retry (audited, reported to other webhooks only) and goes on with the account\'s next event', async () => {
    const failing = await receiver((delivery) => (JSON.parse(delivery.body).data.details?.attempt === 'first' ? 503 : 200));
    const watcher = await receiver();
    const { webhook } = await app.deps.webhooks.create({ url: failing.url, events: ['profile.updated', 'webhook.delivery_failed'] }, 'test');
    const { webhook: watch, secret: watchSecret } = await app.deps.webhooks.create({ url: watcher.url, events: ['webhook.delivery_failed'] }, 'test');
    const account = (await app.deps.accounts.findByEmail('bea@example.com'))!.id;
    await app.deps.audit.record({ event: 'profile.updated', accountId: account, details: { attempt: 'first' } });
    await app.deps.audit.record({ event: 'profile.updated', accountId: account, details: { attempt: 'second' } });

    // Three refused attempts at the first event (the first try and two retries), then the second.
    const got = await failing.waitFor(4, 40_000);
    expect(got.map((delivery) => JSON.parse(delivery.body).data.details.attempt)).toEqual(['first', 'first', 'first', 'second']);
    const [report] = await watcher.waitFor(1);
    const failure = verified(watchSecret, report!);
    expect(failure).toMatchObject({ type: 'webhook.delivery_failed', data: { reason: 'answered 503', accountId: account, details: { webhookId: webhook.id, eventType: 'profile.updated', attempts: 3 } } });
    const { rows } = await app.deps.db.query<{ n: string }>("SELECT count(*) AS n FROM audit_events WHERE event = 'webhook.delivery_failed' AND details->>'webhookId' = $1", [webhook.id]);
    expect(Number(rows[0]!.n)).toBe(1);
    // Never sent to the webhook that failed, though its filter asks for failures.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(failing.deliveries.map((delivery) => delivery.type)).not.toContain('webhook.delivery_failed');
    await app.deps.webhooks.delete(webhook.id, 'test');
    await app.deps.webhooks.delete(watch.id, 'test');
  });

  it('sends nothing for a rolled-back change, and nothing to a disabled webhook', async () => {
    const quiet = await receiver();
    const { webhook } = await app.deps.webhooks.create({ url: quiet.url, events: ['profile.updated'] }, 'test');
    await expect(app.deps.db.transaction(async (tx) => {
      await app.deps.audit.record({ event: 'profile.updated', details: { attempt: 'rolled back' } }, tx);
      throw new Error('the change fails');
    })).rejects.toThrow('the change fails');
    await app.deps.audit.record({ event: 'profile.updated', details: { attempt: 'committed' } });
    await quiet.waitFor(1);
    await app.deps.webhooks.update(webhook.id, { enabled: false }, 'test');
    await app.deps.audit.record({ event: 'profile.updated', details: { attempt: 'while disabled' } });
    await app.deps.webhooks.update(webhook.id, { enabled: true }, 'test');
    await app.deps.audit.record({ event: 'profile.updated', details: { attempt: 'enabled again' } });
    await quiet.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(quiet.deliveries.map((delivery) => JSON.parse(delivery.body).data.details.attempt)).toEqual(['committed', 'enabled again']);
    await app.deps.webhooks.delete(webhook.id, 'test');
  });

  it('keeps secrets sealed in the table; after a rotation both secrets sign for a while, or only the new one', async () => {
    const hook = await receiver();
    const { webhook, secret } = await app.deps.webhooks.create({ url: hook.url, events: ['webhook.test'] }, 'test');
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const raw = async () => (await app.deps.db.query<Record<string, unknown>>('SELECT * FROM webhooks WHERE id = $1', [webhook.id])).rows[0]!;
    const first = await raw();
    const key = secret.slice('whsec_'.length);
    expect(first.secret_sealed).toMatch(/^v1\.[0-9a-f]{8}\./);
    expect(JSON.stringify(first)).not.toContain(key);
    expect(JSON.stringify(first)).not.toContain(Buffer.from(key, 'base64').toString('hex'));

    const { secret: next } = await app.deps.webhooks.rotateSecret(webhook.id, {}, 'test');
    const rotated = await raw();
    expect(JSON.stringify(rotated)).not.toContain(next.slice('whsec_'.length));
    expect(rotated.previous_secret_sealed).toBe(first.secret_sealed);
    await app.deps.webhooks.test(webhook.id, 'test');
    const [both] = await hook.waitFor(1);
    expect(both!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verified(secret, both!).type).toBe('webhook.test');
    expect(verified(next, both!).type).toBe('webhook.test');

    const { secret: last } = await app.deps.webhooks.rotateSecret(webhook.id, { now: true }, 'test');
    expect((await raw()).previous_secret_sealed).toBeNull();
    await app.deps.webhooks.test(webhook.id, 'test');
    const [, only] = await hook.waitFor(2);
    expect(only!.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(verified(last, only!).type).toBe('webhook.test');
    expect(() => verified(next, only!)).toThrow(/signature/i);
    await app.deps.webhooks.delete(webhook.id, 'test');
  });
});
