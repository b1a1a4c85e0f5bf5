import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';
import { childEnv, spawnIdp } from '../helpers/cli.ts';
import { Receiver } from './receiver.ts';
import { expectLogoutOf, FAST_RETRIES, queueDrained, registerClient, seedPerson, signIn, type RelyingParty } from './relying-party.ts';

/*
 * Back-channel logout when an operator ends sessions: one session or all through the admin API,
 * one through `idp session revoke` (another process: the running server delivers what it
 * queued), and by disabling or deleting the account.
 */
describe('back-channel logout when an operator ends sessions', () => {
  let app: TestApp;
  let receiver: Receiver;
  let token: string;
  let first: RelyingParty;
  let second: RelyingParty;

  beforeAll(async () => {
    receiver = await Receiver.start();
    app = await startTestApp(FAST_RETRIES);
    token = await adminToken(app);
    first = await registerClient(app, 'first-app', receiver.url('/first'));
    second = await registerClient(app, 'second-app', receiver.url('/second'));
  });
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
  });

  /** How many tokens each endpoint has so far, and the ones after that. */
  const mark = () => {
    const at = { first: receiver.tokensAt('/first').length, second: receiver.tokensAt('/second').length };
    return {
      first: async (count = 1) => (await receiver.waitFor('/first', at.first + count)).slice(at.first),
      second: async (count = 1) => (await receiver.waitFor('/second', at.second + count)).slice(at.second),
    };
  };

  it('the admin API ends one session: both applications of it get a token, the account\'s other session stays', async () => {
    const email = 'ada@example.com';
    const id = await seedPerson(app, email);
    const browser = new Browser();
    const firstId = await signIn(browser, first, email);
    const secondId = await signIn(browser, second, email);
    const kept = await signIn(new Browser(), first, email);
    const listed = await adminCall(app, token, 'GET', `/users/${id}/sessions`);
    const ended = (listed.body.sessions as Array<{ id: string; clients: string[] }>).find((session) => session.clients.length === 2)!;
    const after = mark();
    expect((await adminCall(app, token, 'DELETE', `/users/${id}/sessions/${ended.id}`)).status).toBe(204);
    await expectLogoutOf(app, await after.first(), 'first-app', firstId);
    await expectLogoutOf(app, await after.second(), 'second-app', secondId);
    await queueDrained(app);
    // Only that session's sid: the other session of first-app was not logged out.
    expect(receiver.tokensAt('/first').length).toBe(1);
    expect((await app.deps.accountState.listSessions(id)).length).toBe(1);

    // Ending everything sends the rest.
    const rest = mark();
    expect((await adminCall(app, token, 'DELETE', `/users/${id}/sessions`)).status).toBe(200);
    await expectLogoutOf(app, await rest.first(), 'first-app', kept);
  });

  it('`idp session revoke` queues from the CLI process and the server delivers', async () => {
    const email = 'bea@example.com';
    await seedPerson(app, email);
    const firstId = await signIn(new Browser(), first, email);
    // The CLI reaches the same provider state: the server's database (embedded: over its socket) and Redis keys.
    const env = { ...childEnv(app.storage.settings), ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: app.storage.redisPrefix } : {}) };
    const list = await spawnIdp(['session', 'list', '--email', email, '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    const [session] = (JSON.parse(list.stdout) as { sessions: Array<{ id: string; clients: string[] }> }).sessions;
    expect(session!.clients).toEqual(['first-app']);
    const after = mark();
    const revoked = await spawnIdp(['session', 'revoke', '--email', email, '--session', session!.id, '--json'], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    await expectLogoutOf(app, await after.first(), 'first-app', firstId);
  });

  it('disabling an account logs every application out of each of its sessions', async () => {
    const email = 'cleo@example.com';
    const id = await seedPerson(app, email);
    const firstId = await signIn(new Browser(), first, email);
    const secondId = await signIn(new Browser(), second, email);
    const after = mark();
    expect((await adminCall(app, token, 'POST', `/users/${id}/disable`)).status).toBe(200);
    await expectLogoutOf(app, await after.first(), 'first-app', firstId);
    await expectLogoutOf(app, await after.second(), 'second-app', secondId);
  });

  it('deleting an account logs its applications out', async () => {
    const email = 'dan@example.com';
    const id = await seedPerson(app, email);
    const browser = new Browser();
    const firstId = await signIn(browser, first, email);
    const secondId = await signIn(browser, second, email);
    const after = mark();
    expect((await adminCall(app, token, 'DELETE', `/users/${id}`)).status).toBe(204);
    await expectLogoutOf(app, await after.first(), 'first-app', firstId);
    await expectLogoutOf(app, await after.second(), 'second-app', secondId);
    expect(await app.deps.accounts.findByEmail(email)).toBeNull();
  });
});
