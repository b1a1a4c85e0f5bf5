import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { seedWebClient, PASSWORD } from '../helpers/oidc.ts';
import { openLoginPage, submit } from '../helpers/self-service.ts';
import { testClock } from '../helpers/clock.ts';
import { usingPostgres } from '../helpers/database.ts';

type Rp = Awaited<ReturnType<typeof seedWebClient>>;

/** Opens `count` login pages (each its own interaction and browser), ready to post. */
async function loginForms(rp: Pick<Rp, 'config'>, count: number) {
  const forms = [];
  for (let i = 0; i < count; i++) {
    const login = await openLoginPage(rp.config);
    forms.push({ browser: login.browser, form: readForm(login.html, '/login') });
  }
  return forms;
}

async function postAll(app: TestApp, forms: Awaited<ReturnType<typeof loginForms>>, credentials: { email: string; password: string }) {
  return Promise.all(forms.map(async ({ browser, form }) => {
    const response = await browser.request(new URL(form.action, app.issuer), { form: { ...form.fields, ...credentials } });
    return { status: response.status, html: await response.text(), location: response.headers.get('location') };
  }));
}

async function reasons(app: TestApp, email: string): Promise<Record<string, number>> {
  const { rows } = await app.deps.db.query<{ reason: string; n: string }>(
    "SELECT reason, count(*) AS n FROM audit_events WHERE event = 'login.failed' AND lower(email) = lower($1) GROUP BY reason",
    [email],
  );
  return Object.fromEntries(rows.map((row) => [row.reason, Number(row.n)]));
}

// The default settings, on a clock that moves only when a test moves it: a lock ends exactly
// when the test says, however long a loaded machine took to get there.
describe('brute-force protection (default threshold of 30, 60 s lock steps)', () => {
  const clock = testClock();
  let app: TestApp;
  let rp: Rp;

  beforeAll(async () => {
    app = await startTestApp({}, { clock });
    rp = await seedWebClient(app);
  });
  afterAll(async () => app?.close());

  it('50 parallel wrong passwords on one account evaluate exactly 30, and every answer looks the same', async () => {
    const forms = await loginForms(rp, 50);
    const results = await postAll(app, forms, { email: rp.email, password: 'wrong password 000' });
    expect(new Set(results.map((result) => result.status))).toEqual(new Set([400]));
    for (const result of results) expect(result.html).toContain('Incorrect email or password.');
    expect(await reasons(app, rp.email)).toEqual({ bad_password: 30, locked: 20 });
    const { rows } = await app.deps.db.query("SELECT details FROM audit_events WHERE event = 'account.locked' AND lower(email) = lower($1)", [rp.email]);
    expect(rows).toEqual([{ details: { seconds: 60 } }]);
  });

  it('a locked account refuses even the right password, with the same message, to its last second', async () => {
    clock.advance(59_999);
    const [login] = await loginForms(rp, 1);
    const [result] = await postAll(app, [login!], { email: rp.email, password: PASSWORD });
    expect(result!.status).toBe(400);
    expect(result!.html).toContain('Incorrect email or password.');
    expect((await reasons(app, rp.email)).locked).toBe(21);
  });

  it.runIf(usingPostgres)('another instance on the same storage (Redis or PostgreSQL) keeps the lock', async () => {
    const second = await startTestApp({}, { sharing: app, clock });
    try {
      const config = await client.discovery(new URL(second.issuer), 'web-app', undefined, client.ClientSecretBasic(rp.secret), { execute: [client.allowInsecureRequests] });
      const [login] = await loginForms({ config }, 1);
      const [result] = await postAll(second, [login!], { email: rp.email, password: PASSWORD });
      expect(result!.status).toBe(400);
      expect(result!.html).toContain('Incorrect email or password.');
      expect((await reasons(app, rp.email)).locked).toBe(22);
    } finally {
      await second.close();
    }
  });

  it('after the lock, one attempt at a time gets through; a failure locks again, longer', async () => {
    clock.advance(1);
    const before = await reasons(app, rp.email);
    const forms = await loginForms(rp, 10);
    await postAll(app, forms, { email: rp.email, password: 'wrong password 001' });
    const after = await reasons(app, rp.email);
    expect(after.bad_password! - before.bad_password!).toBe(1);
    expect(after.locked! - before.locked!).toBe(9);
    const { rows } = await app.deps.db.query<{ details: { seconds: number } }>("SELECT details FROM audit_events WHERE event = 'account.locked' AND lower(email) = lower($1) ORDER BY id", [rp.email]);
    expect(rows.map((row) => row.details.seconds)).toEqual([60, 120]);
  });

  it('a success after the lock signs in and resets the run of failures', async () => {
    clock.advance(120_000);
    const login = await openLoginPage(rp.config);
    const done = await login.browser.follow(new URL(readForm(login.html, '/login').action, app.issuer), 'http://127.0.0.1:9/', { form: { ...readForm(login.html, '/login').fields, email: rp.email, password: PASSWORD } });
    expect('page' in done && done.html).toContain('Allow access?');
    // The run starts again from zero: a few failures do not lock.
    const forms = await loginForms(rp, 3);
    await postAll(app, forms, { email: rp.email, password: 'wrong password 002' });
    const [ok] = await loginForms(rp, 1);
    const [result] = await postAll(app, [ok!], { email: rp.email, password: PASSWORD });
    expect(result!.status).toBe(303);
  });

  it('an unknown email is throttled exactly like a real one (nothing to learn from the lock)', async () => {
    const forms = await loginForms(rp, 35);
    const results = await postAll(app, forms, { email: 'nobody@example.com', password: 'wrong password 003' });
    for (const result of results) expect(result.html).toContain('Incorrect email or password.');
    expect(await reasons(app, 'nobody@example.com')).toEqual({ unknown_email: 30, locked: 5 });
  });
});

describe('hourly limits per account and per IP', () => {
  let app: TestApp;
  let rp: Rp;

  beforeAll(async () => {
    app = await startTestApp({ LIMIT_LOGIN_FAILURES_PER_ACCOUNT: '3/1h', LIMIT_LOGIN_FAILURES_PER_IP: '6/1h' });
    rp = await seedWebClient(app);
  });
  afterAll(async () => app?.close());

  it('stops evaluating an account after its hourly failures, with the usual message', async () => {
    const forms = await loginForms(rp, 5);
    const results = await postAll(app, forms, { email: rp.email, password: 'wrong password 010' });
    for (const result of results) expect(result.html).toContain('Incorrect email or password.');
    expect(await reasons(app, rp.email)).toEqual({ bad_password: 3, account_limit: 2 });
  });

  it('answers 429 with Retry-After once an IP is over its limit, as a page or as JSON', async () => {
    // 3 failures counted above; 3 more on another email reach the IP limit of 6.
    const forms = await loginForms(rp, 4);
    const results = await postAll(app, forms.slice(0, 3), { email: 'other@example.com', password: 'wrong password 011' });
    expect(results.every((result) => result.status === 400)).toBe(true);
    const last = forms[3]!;
    const page = await last.browser.request(new URL(last.form.action, app.issuer), { form: { ...last.form.fields, email: 'third@example.com', password: 'x'.repeat(12) } });
    expect(page.status).toBe(429);
    expect(Number(page.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await page.text()).toMatch(/Too many failed sign-ins from your network/);

    const [again] = await loginForms(rp, 1);
    const json = await again!.browser.request(new URL(again!.form.action, app.issuer), {
      form: { ...again!.form.fields, email: 'fourth@example.com', password: PASSWORD },
      headers: { accept: 'application/json' },
    });
    expect(json.status).toBe(429);
    expect(Number(json.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await json.json()).toMatchObject({ error: 'rate_limited' });
  });

  it('registration and reset requests are limited per email too', async () => {
    const email = 'limited@example.com';
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const login = await openLoginPage(rp.config);
      const form = await login.browser.navigate(new URL(`/interaction/${login.uid}/forgot`, app.issuer).href);
      statuses.push((await submit(login.browser, app, form.html, '/forgot', { email })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});
