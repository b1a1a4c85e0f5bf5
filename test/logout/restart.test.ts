import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { childEnv, spawnIdp } from '../helpers/cli.ts';
import { Receiver } from './receiver.ts';
import { createSharedStorage, startInstance, type SharedStorage } from './instance.ts';
import { expectLogoutOf, FAST_RETRIES, logOutThroughPages, queueDrained, registerClient, seedPerson, signIn } from './relying-party.ts';

/*
 * Durable delivery: a logout queued by an instance that then stops, or by the CLI while no
 * server runs, is sent by the next instance on the same storage (embedded: the same data
 * directory; PostgreSQL and Redis: the same database and keys), exactly once.
 */
describe('back-channel logout across a provider restart', () => {
  let storage: SharedStorage;
  let receiver: Receiver;
  let running: TestApp | null = null;

  beforeAll(async () => {
    storage = await createSharedStorage();
    receiver = await Receiver.start();
  });
  afterAll(async () => {
    await running?.close();
    await receiver?.close();
    await storage?.drop();
  });

  const start = async () => {
    running = await startInstance(storage, FAST_RETRIES);
    return running;
  };
  const stop = async () => {
    await running?.close();
    running = null;
  };

  it('the next instance delivers what a stopped one queued and could not send', async () => {
    let app = await start();
    await seedPerson(app, 'ada@example.com');
    const first = await registerClient(app, 'first-app', receiver.url('/first'));
    const second = await registerClient(app, 'second-app', receiver.url('/second'));
    const browser = new Browser();
    const firstId = await signIn(browser, first, 'ada@example.com');
    const secondId = await signIn(browser, second, 'ada@example.com');
    await receiver.down();
    await logOutThroughPages(app, browser, 'first-app');
    await stop();
    await receiver.up();
    expect(receiver.received).toEqual([]);

    app = await start();
    await expectLogoutOf(app, await receiver.waitFor('/first'), 'first-app', firstId);
    await expectLogoutOf(app, await receiver.waitFor('/second'), 'second-app', secondId);
    await queueDrained(app);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(receiver.received).toHaveLength(2);
    await stop();
  });

  it('a logout the CLI queued while no server ran is sent by the next server to start', async () => {
    let app = await start();
    await seedPerson(app, 'bea@example.com');
    const rp = await registerClient(app, 'third-app', receiver.url('/third'));
    const idToken = await signIn(new Browser(), rp, 'bea@example.com');
    const [session] = await app.deps.accountState.listSessions(idToken.sub);
    await stop();

    const env = { ...childEnv(storage.settings), ...FAST_RETRIES, ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: storage.redisPrefix } : {}) };
    const revoked = await spawnIdp(['session', 'revoke', '--email', 'bea@example.com', '--session', session!.id], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    // Nobody is there to send it yet.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.tokensAt('/third')).toEqual([]);

    app = await start();
    await expectLogoutOf(app, await receiver.waitFor('/third'), 'third-app', idToken);
    await queueDrained(app);
  });
});
