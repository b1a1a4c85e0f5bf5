import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs, startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { Receiver } from './receiver.ts';
import { auditOf, auditWhen, expectLogoutOf, FAST_RETRIES, logOutThroughPages, metric, queueDrained, registerClient, seedPerson, signIn } from './relying-party.ts';

const DELIVERIES = 'idp_backchannel_logout_deliveries_total';

/*
 * Deliveries are durable and bounded: a receiver that is down or failing gets its token once it
 * is back, one that never comes back is given up after the last retry, and an address the
 * outbound policy refuses fails at once; each is visible in the metrics, the log and the audit trail.
 */
describe('back-channel logout delivery: retries, limits and refusals', () => {
  let app: TestApp;
  const logs = captureLogs();
  const receivers: Receiver[] = [];
  let adaId: string;
  const ada = 'ada@example.com';

  beforeAll(async () => {
    // Three retries, 1-2 s apart: a few seconds from the first attempt to giving up.
    app = await startTestApp({ ...FAST_RETRIES, BACKCHANNEL_LOGOUT_RETRY_LIMIT: '3' }, { logger: logs.logger });
    adaId = await seedPerson(app, ada);
  });
  afterAll(async () => {
    await app?.close();
    for (const receiver of receivers) await receiver.close();
  });

  const receiver = async () => {
    const started = await Receiver.start();
    receivers.push(started);
    return started;
  };

  /** Waits until the deliveries counter's `result` sample passes `above`. */
  async function counted(result: string, above: number, timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await metric(app, `${DELIVERIES}{result="${result}"}`);
      if (value > above) return value;
      if (Date.now() > deadline) throw new Error(`${DELIVERIES}{result="${result}"} stayed at ${value}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('a receiver that refuses connections gets the token after it comes back', async () => {
    const down = await receiver();
    const rp = await registerClient(app, 'down-app', down.url());
    const browser = new Browser();
    const idToken = await signIn(browser, rp, ada);
    const retries = await metric(app, `${DELIVERIES}{result="retry"}`);
    await down.down();
    await logOutThroughPages(app, browser, 'down-app');
    // At least one attempt failed, and the logout still waits.
    await counted('retry', retries);
    // Waiting for its next attempt: the gauge counts waiting jobs, so it reads 0 only during the
    // moment an attempt runs, which a loaded machine can land the reading in. Read it again then.
    let queued = await metric(app, 'idp_backchannel_logout_queued');
    for (let reads = 1; queued < 1 && reads < 10; reads++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      queued = await metric(app, 'idp_backchannel_logout_queued');
    }
    expect(queued).toBeGreaterThanOrEqual(1);
    expect(down.received).toEqual([]);
    await down.up();
    await expectLogoutOf(app, await down.waitFor('/bcl'), 'down-app', idToken);
    await queueDrained(app);
    expect(await metric(app, `${DELIVERIES}{result="delivered"}`)).toBeGreaterThanOrEqual(1);
    expect(await metric(app, 'idp_backchannel_logout_queued')).toBe(0);
    const delivered = await auditWhen(app, adaId, 'logout.backchannel_delivered', (rows) => rows.some((event) => event.details.clientId === 'down-app'));
    expect(delivered.find((event) => event.details.clientId === 'down-app')?.details.attempts).toBeGreaterThan(1);
  });

  it('a receiver answering 503 gets the token once it answers again, signed afresh', async () => {
    const failing = await receiver();
    const rp = await registerClient(app, 'flaky-app', failing.url());
    const browser = new Browser();
    const idToken = await signIn(browser, rp, ada);
    failing.answer(503);
    const retries = await metric(app, `${DELIVERIES}{result="retry"}`);
    await logOutThroughPages(app, browser, 'flaky-app');
    await counted('retry', retries);
    expect(failing.attempts).toBeGreaterThanOrEqual(1);
    const signedOutAt = Math.floor(Date.now() / 1000);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    failing.answer(200);
    const payload = await expectLogoutOf(app, await failing.waitFor('/bcl'), 'flaky-app', idToken);
    // Built at delivery, not when queued: a late retry carries a fresh iat and exp.
    expect(payload.iat).toBeGreaterThan(signedOutAt);
  });

  it('gives up after the last retry, audits it, and sends nothing more', async () => {
    const broken = await receiver();
    const rp = await registerClient(app, 'broken-app', broken.url());
    const browser = new Browser();
    await signIn(browser, rp, ada);
    broken.answer(500);
    const failed = await metric(app, `${DELIVERIES}{result="failed"}`);
    await logOutThroughPages(app, browser, 'broken-app');
    await counted('failed', failed);
    // The first attempt and three retries.
    expect(broken.attempts).toBe(4);
    const [event] = (await auditOf(app, adaId, 'logout.backchannel_failed')).filter((entry) => entry.details.clientId === 'broken-app');
    expect(event).toMatchObject({ reason: 'retries_exhausted', details: { clientId: 'broken-app', attempts: 4, status: 500 } });
    await queueDrained(app);
    broken.answer(200);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(broken.attempts).toBe(4);
    expect(broken.received).toEqual([]);
  });

  it('an address the outbound policy refuses fails at once, logged and audited, never retried', async () => {
    // A private address not in OUTBOUND_ALLOWED_HOSTS (nothing is listening there: it is never called).
    const rp = await registerClient(app, 'inner-app', 'https://10.255.255.1/bcl');
    const browser = new Browser();
    await signIn(browser, rp, ada);
    const failed = await metric(app, `${DELIVERIES}{result="failed"}`);
    const retries = await metric(app, `${DELIVERIES}{result="retry"}`);
    await logOutThroughPages(app, browser, 'inner-app');
    await counted('failed', failed);
    await queueDrained(app);
    expect(await metric(app, `${DELIVERIES}{result="retry"}`)).toBe(retries);
    const [event] = (await auditOf(app, adaId, 'logout.backchannel_failed')).filter((entry) => entry.details.clientId === 'inner-app');
    expect(event).toMatchObject({ reason: 'refused', details: { attempts: 1, url: 'https://10.255.255.1/bcl' } });
    expect(String(event!.details.error)).toMatch(/OUTBOUND_ALLOWED_HOSTS/);
    expect(logs.lines.find((line) => line.msg === 'back-channel logout given up' && line.clientId === 'inner-app')).toMatchObject({ reason: expect.stringMatching(/private or special-use/) });
  });
});
