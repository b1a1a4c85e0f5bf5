import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import type { AccountStateStore, RevokeAccountState } from '../../src/oidc/adapters/account-state.ts';

export interface AdapterUnderTest {
  factory: AdapterFactory;
  /** Revokes everything one account holds in the same store as `factory`. */
  revokeAccountState: RevokeAccountState;
  /** Lists and revokes one account's sessions and grants in the same store as `factory`. */
  accountState: AccountStateStore;
  teardown(): Promise<void>;
}

/** Every model name oidc-provider 9 asks its adapter factory for. */
export const MODELS = [
  'Session',
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'ClientCredentials',
  'Client',
  'InitialAccessToken',
  'RegistrationAccessToken',
  'Interaction',
  'ReplayDetection',
  'PushedAuthorizationRequest',
  'Grant',
  'BackchannelAuthenticationRequest',
] as const;

/** Random like oidc-provider's own ids, so tests sharing one store never collide. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function token(grantId: string, extra: Partial<AdapterPayload> = {}): AdapterPayload {
  return { jti: newId(), grantId, clientId: 'client-1', accountId: 'account-1', scope: 'openid', iat: nowSeconds(), ...extra };
}

/** Expects the promise to reject the way oidc-provider needs: an InvalidGrant, i.e. `invalid_grant`. */
async function expectInvalidGrant(promise: Promise<unknown>): Promise<void> {
  const error: unknown = await promise.then(
    () => expect.fail('expected an invalid_grant rejection'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(errors.InvalidGrant);
  expect(error).toMatchObject({ error: 'invalid_grant', statusCode: 400 });
}

/**
 * oidc-provider's Adapter contract, run against one adapter implementation on a real store.
 * `setup` runs once for the whole suite; tests use fresh random ids so they can share it.
 */
export function adapterContract(name: string, setup: () => Promise<AdapterUnderTest>): void {
  describe(name, () => {
    let subject: AdapterUnderTest | undefined;

    beforeAll(async () => {
      subject = await setup();
    });

    afterAll(async () => {
      await subject?.teardown();
    });

    function adapter(model: string): Adapter {
      if (!subject) throw new Error('adapter setup failed');
      return subject.factory(model);
    }

    function revokeAccount(accountId: string): Promise<number> {
      if (!subject) throw new Error('adapter setup failed');
      return subject.revokeAccountState(accountId);
    }

    type Stored = readonly [model: string, id: string];

    /** What an account typically holds: a session, a grant, and a code and tokens under it. */
    async function accountState(accountId: string, ttl = 60) {
      const [session, grantId, code, access, refresh, device] = [newId(), newId(), newId(), newId(), newId(), newId()];
      const [uid, userCode] = [newId(), newId()];
      await adapter('Session').upsert(session, { jti: session, uid, accountId, loginTs: nowSeconds(), authorizations: { 'client-1': { grantId } } }, ttl);
      await adapter('Grant').upsert(grantId, { jti: grantId, kind: 'Grant', accountId, clientId: 'client-1' }, ttl);
      await adapter('AuthorizationCode').upsert(code, token(grantId, { accountId }), ttl);
      await adapter('AccessToken').upsert(access, token(grantId, { accountId }), ttl);
      await adapter('RefreshToken').upsert(refresh, token(grantId, { accountId }), ttl);
      await adapter('DeviceCode').upsert(device, token(grantId, { accountId, userCode }), ttl);
      const records: Stored[] = [
        ['Session', session],
        ['Grant', grantId],
        ['AuthorizationCode', code],
        ['AccessToken', access],
        ['RefreshToken', refresh],
        ['DeviceCode', device],
      ];
      return { records, grantId, uid, userCode };
    }

    async function expectGone(records: readonly Stored[]): Promise<void> {
      for (const [model, id] of records) expect(await adapter(model).find(id), `${model} ${id}`).toBeUndefined();
    }

    async function expectKept(records: readonly Stored[]): Promise<void> {
      for (const [model, id] of records) expect(await adapter(model).find(id), `${model} ${id}`).toBeDefined();
    }

    it('stores and finds a payload', async () => {
      const id = newId();
      const payload = token(newId(), { exp: nowSeconds() + 60 });
      await adapter('AccessToken').upsert(id, payload, 60);
      expect(await adapter('AccessToken').find(id)).toEqual(payload);
    });

    it.each(MODELS)('round-trips a %s', async (model) => {
      const id = newId();
      const payload: AdapterPayload = { jti: id, kind: model, iat: nowSeconds() };
      await adapter(model).upsert(id, payload, 60);
      expect(await adapter(model).find(id)).toEqual(payload);
    });

    it('finds nothing for an unknown id', async () => {
      expect(await adapter('AccessToken').find(newId())).toBeUndefined();
      expect(await adapter('Session').findByUid(newId())).toBeUndefined();
      expect(await adapter('DeviceCode').findByUserCode(newId())).toBeUndefined();
    });

    it('keeps a record without expiresIn', async () => {
      const id = newId();
      await adapter('Client').upsert(id, { client_id: id, client_secret: 's3cret' });
      expect(await adapter('Client').find(id)).toEqual({ client_id: id, client_secret: 's3cret' });
    });

    it('replaces the whole payload on upsert of an existing id', async () => {
      const id = newId();
      await adapter('Interaction').upsert(id, { jti: id, returnTo: 'https://a.example/', params: { a: 1 } }, 60);
      await adapter('Interaction').upsert(id, { jti: id, returnTo: 'https://b.example/' }, 60);
      expect(await adapter('Interaction').find(id)).toEqual({ jti: id, returnTo: 'https://b.example/' });
    });

    it('moves the uid index when an upsert changes the uid', async () => {
      const id = newId();
      const [oldUid, newUid] = [newId(), newId()];
      await adapter('Session').upsert(id, { jti: id, uid: oldUid }, 60);
      await adapter('Session').upsert(id, { jti: id, uid: newUid }, 60);
      expect(await adapter('Session').findByUid(oldUid)).toBeUndefined();
      expect(await adapter('Session').findByUid(newUid)).toEqual({ jti: id, uid: newUid });
    });

    it('never returns an expired record, however it is looked up', async () => {
      const [expiring, lasting, session, device] = [newId(), newId(), newId(), newId()];
      const uid = newId();
      const userCode = newId();
      // With the `exp` oidc-provider stores beside every TTL (a cache may go by it, as Redis'
      // own expiry reaches a tracking client only once its expiry cycle finds the key).
      const exp = nowSeconds() + 1;
      await adapter('AccessToken').upsert(expiring, token(newId(), { exp }), 1);
      await adapter('AccessToken').upsert(lasting, token(newId(), { exp: exp + 59 }), 60);
      await adapter('Session').upsert(session, { jti: session, uid, exp }, 1);
      await adapter('DeviceCode').upsert(device, { jti: device, userCode, exp }, 1);
      await adapter('AuthorizationCode').upsert(expiring, token(newId(), { exp }), 1);

      // Present before the deadline, so the checks below can tell expiry from never-stored.
      expect(await adapter('AccessToken').find(expiring)).toBeDefined();
      expect(await adapter('Session').findByUid(uid)).toBeDefined();
      expect(await adapter('DeviceCode').findByUserCode(userCode)).toBeDefined();

      await sleep(1_500);

      expect(await adapter('AccessToken').find(expiring)).toBeUndefined();
      expect(await adapter('Session').find(session)).toBeUndefined();
      expect(await adapter('Session').findByUid(uid)).toBeUndefined();
      expect(await adapter('DeviceCode').findByUserCode(userCode)).toBeUndefined();
      await expectInvalidGrant(adapter('AuthorizationCode').consume(expiring));
      expect(await adapter('AccessToken').find(lasting)).toBeDefined();
    });

    it('finds a Session by uid, within its own model only', async () => {
      const id = newId();
      const uid = newId();
      const payload: AdapterPayload = { jti: id, uid, accountId: 'account-1', loginTs: nowSeconds() };
      await adapter('Session').upsert(id, payload, 60);
      expect(await adapter('Session').findByUid(uid)).toEqual(payload);
      expect(await adapter('Interaction').findByUid(uid)).toBeUndefined();
    });

    it('finds a DeviceCode by user code, within its own model only', async () => {
      const id = newId();
      const userCode = 'WDJB-MJHT';
      const payload = token(newId(), { userCode: `${userCode}-${id}`, deviceInfo: { ua: 'curl/8' } });
      await adapter('DeviceCode').upsert(id, payload, 60);
      expect(await adapter('DeviceCode').findByUserCode(`${userCode}-${id}`)).toEqual(payload);
      expect(await adapter('DeviceCode').findByUserCode(userCode)).toBeUndefined();
      expect(await adapter('AccessToken').findByUserCode(`${userCode}-${id}`)).toBeUndefined();
    });

    it('destroys a record and its lookups', async () => {
      const id = newId();
      const uid = newId();
      await adapter('Session').upsert(id, { jti: id, uid }, 60);
      await adapter('Session').destroy(id);
      expect(await adapter('Session').find(id)).toBeUndefined();
      expect(await adapter('Session').findByUid(uid)).toBeUndefined();
      await expect(adapter('Session').destroy(newId())).resolves.toBeUndefined();
    });

    it('marks a record consumed and keeps the rest of the payload', async () => {
      const id = newId();
      const payload = token(newId(), { amr: [], rar: [], params: { big: 12345678901234567, tiny: 0.1 } });
      await adapter('AuthorizationCode').upsert(id, payload, 60);
      expect((await adapter('AuthorizationCode').find(id))?.consumed).toBeUndefined();

      const before = nowSeconds();
      await adapter('AuthorizationCode').consume(id);
      const after = nowSeconds();

      const found = await adapter('AuthorizationCode').find(id);
      expect(found).toEqual({ ...payload, consumed: expect.any(Number) });
      expect(found?.consumed).toBeGreaterThanOrEqual(before);
      expect(found?.consumed).toBeLessThanOrEqual(after);
    });

    it('refuses a second consume with invalid_grant and keeps the first timestamp', async () => {
      const id = newId();
      await adapter('RefreshToken').upsert(id, token(newId()), 60);
      await adapter('RefreshToken').consume(id);
      const first = (await adapter('RefreshToken').find(id))?.consumed;
      await expectInvalidGrant(adapter('RefreshToken').consume(id));
      expect((await adapter('RefreshToken').find(id))?.consumed).toBe(first);
    });

    it.each(['AuthorizationCode', 'RefreshToken', 'DeviceCode'])('lets exactly one of ten concurrent consumes of a %s win', async (model) => {
      const id = newId();
      await adapter(model).upsert(id, token(newId()), 60);
      // A fresh adapter per call, as separate requests (or provider instances) would have.
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => adapter(model).consume(id)));

      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const rejections = results.filter((result) => result.status === 'rejected');
      expect(rejections).toHaveLength(9);
      for (const rejection of rejections) {
        expect(rejection.reason).toBeInstanceOf(errors.InvalidGrant);
        expect(rejection.reason).toMatchObject({ error: 'invalid_grant' });
      }
    });

    it('refuses to consume a record that does not exist', async () => {
      await expectInvalidGrant(adapter('AuthorizationCode').consume(newId()));
    });

    it('revokes every token of a grant across models, and only that grant', async () => {
      const grantId = newId();
      const otherGrantId = newId();
      const revoked = [
        ['AccessToken', newId()],
        ['RefreshToken', newId()],
        ['AuthorizationCode', newId()],
        ['DeviceCode', newId()],
        ['BackchannelAuthenticationRequest', newId()],
      ] as const;
      const kept = [
        ['AccessToken', newId()],
        ['RefreshToken', newId()],
      ] as const;
      for (const [model, id] of revoked) await adapter(model).upsert(id, token(grantId), 60);
      for (const [model, id] of kept) await adapter(model).upsert(id, token(otherGrantId), 60);
      // The Grant itself is destroyed by oidc-provider separately (revokeGrantPolicy).
      await adapter('Grant').upsert(grantId, { jti: grantId, accountId: 'account-1', clientId: 'client-1' }, 60);

      await adapter('AccessToken').revokeByGrantId(grantId);

      for (const [model, id] of revoked) expect(await adapter(model).find(id), `${model} ${id}`).toBeUndefined();
      for (const [model, id] of kept) expect(await adapter(model).find(id), `${model} ${id}`).toBeDefined();
      expect(await adapter('Grant').find(grantId)).toBeDefined();
    });

    it('revokes tokens issued under a grant after an earlier revoke of it', async () => {
      const grantId = newId();
      const [first, second] = [newId(), newId()];
      await adapter('AccessToken').upsert(first, token(grantId), 60);
      await adapter('RefreshToken').revokeByGrantId(grantId);
      await adapter('AccessToken').upsert(second, token(grantId), 60);
      await adapter('RefreshToken').revokeByGrantId(grantId);
      expect(await adapter('AccessToken').find(first)).toBeUndefined();
      expect(await adapter('AccessToken').find(second)).toBeUndefined();
      await expect(adapter('AccessToken').revokeByGrantId(newId())).resolves.toBeUndefined();
    });

    it('revokes everything an account holds, and everything under its grants, and nothing else', async () => {
      const [accountA, accountB] = [newId(), newId()];
      const a = await accountState(accountA);
      const b = await accountState(accountB);
      // Issued under A's grant without an accountId: only the grant index leads to it.
      const anonymous = newId();
      await adapter('AccessToken').upsert(anonymous, { jti: anonymous, grantId: a.grantId, clientId: 'client-1', scope: 'openid' }, 60);
      // Client credentials: no account, no grant.
      const clientCredentials = newId();
      await adapter('ClientCredentials').upsert(clientCredentials, { jti: clientCredentials, clientId: 'client-1', kind: 'ClientCredentials' }, 60);
      const goneRecords: Stored[] = [...a.records, ['AccessToken', anonymous]];
      const keptRecords: Stored[] = [...b.records, ['ClientCredentials', clientCredentials]];
      await expectKept([...goneRecords, ...keptRecords]);

      expect(await revokeAccount(accountA)).toBe(goneRecords.length);

      await expectGone(goneRecords);
      expect(await adapter('Session').findByUid(a.uid)).toBeUndefined();
      expect(await adapter('DeviceCode').findByUserCode(a.userCode)).toBeUndefined();
      await expectKept(keptRecords);
      expect(await adapter('Session').findByUid(b.uid)).toBeDefined();
      expect(await adapter('DeviceCode').findByUserCode(b.userCode)).toBeDefined();

      expect(await revokeAccount(accountA)).toBe(0);
      await expectKept(keptRecords);
    });

    it('revokes nothing for an account that holds nothing', async () => {
      expect(await revokeAccount(newId())).toBe(0);
    });

    it('revokes the records an account still holds when some of them expired', async () => {
      const accountId = newId();
      const [expiring, lasting] = [newId(), newId()];
      const grant = await accountState(accountId);
      await adapter('AccessToken').upsert(expiring, token(grant.grantId, { accountId }), 1);
      await adapter('Session').upsert(lasting, { jti: lasting, accountId }, 60);
      await sleep(1_500);

      expect(await revokeAccount(accountId)).toBe(grant.records.length + 1);
      await expectGone([...grant.records, ['AccessToken', expiring], ['Session', lasting]]);
    });

    it('revokes an account whose records all expired', async () => {
      const accountId = newId();
      const { records } = await accountState(accountId, 1);
      await sleep(1_500);
      expect(await revokeAccount(accountId)).toBe(0);
      await expectGone(records);
    });

    it('revokes a record by the account it names now, not the one it named when first stored', async () => {
      const [first, second] = [newId(), newId()];
      const id = newId();
      await adapter('Session').upsert(id, { jti: id, accountId: first }, 60);
      await adapter('Session').upsert(id, { jti: id, accountId: second }, 60);

      expect(await revokeAccount(first)).toBe(0);
      expect(await adapter('Session').find(id)).toEqual({ jti: id, accountId: second });
      expect(await revokeAccount(second)).toBe(1);
      expect(await adapter('Session').find(id)).toBeUndefined();
    });

    it('keeps revoking an account across destroys and new records', async () => {
      const accountId = newId();
      const [destroyed, later] = [newId(), newId()];
      await adapter('AccessToken').upsert(destroyed, token(newId(), { accountId }), 60);
      await adapter('AccessToken').destroy(destroyed);
      expect(await revokeAccount(accountId)).toBe(0);
      await adapter('AccessToken').upsert(later, token(newId(), { accountId }), 60);
      expect(await revokeAccount(accountId)).toBe(1);
      expect(await adapter('AccessToken').find(later)).toBeUndefined();
    });

    function store(): AccountStateStore {
      if (!subject) throw new Error('adapter setup failed');
      return subject.accountState;
    }

    function at(epochSeconds: number): Date {
      return new Date(epochSeconds * 1000);
    }

    /**
     * Two sessions and three grants of one account, shaped as oidc-provider stores them, with
     * distinct times (epoch seconds before `now`) so the order is known: session 1 authorized
     * client-1 (grant 1), session 2 authorized client-2 and client-3 (grants 2 and 3).
     */
    async function adminState(accountId: string, now = nowSeconds(), ttl = 600) {
      const [session1, session2, grant1, grant2, grant3] = [newId(), newId(), newId(), newId(), newId()];
      const [uid1, uid2] = [newId(), newId()];
      const exp = now + ttl;
      const sessions = { session1, session2, uid1, uid2 };
      await adapter('Grant').upsert(
        grant1,
        {
          jti: grant1,
          kind: 'Grant',
          accountId,
          clientId: 'client-1',
          iat: now - 3000,
          exp,
          openid: { scope: 'openid email profile offline_access', claims: ['sub', 'email'] },
          resources: { 'https://api.example/': 'read write', 'https://billing.example/': 'invoices:read' },
          rejected: { openid: { scope: 'openid profile' }, resources: { 'https://api.example/': 'write' } },
        },
        ttl,
      );
      await adapter('Grant').upsert(
        grant2,
        { jti: grant2, kind: 'Grant', accountId, clientId: 'client-2', iat: now - 1000, exp, openid: { scope: 'openid' } },
        ttl,
      );
      await adapter('Grant').upsert(grant3, { jti: grant3, kind: 'Grant', accountId, clientId: 'client-3', iat: now - 900, exp }, ttl);
      await adapter('Session').upsert(
        session1,
        {
          jti: session1,
          kind: 'Session',
          uid: uid1,
          accountId,
          loginTs: now - 2990,
          iat: now - 3000,
          exp,
          acr: 'urn:mace:incommon:iap:silver',
          amr: ['pwd', 'otp'],
          authorizations: { 'client-1': { sid: newId(), grantId: grant1, persistsLogout: true } },
        },
        ttl,
      );
      await adapter('Session').upsert(
        session2,
        {
          jti: session2,
          kind: 'Session',
          uid: uid2,
          accountId,
          loginTs: now - 990,
          iat: now - 1000,
          exp,
          authorizations: { 'client-3': { sid: newId(), grantId: grant3 }, 'client-2': { sid: newId(), grantId: grant2 } },
        },
        ttl,
      );
      // Tokens by model and age (seconds before now); only access and refresh tokens tell use.
      const under1 = [
        ['AuthorizationCode', 2500],
        ['AccessToken', 2400],
        ['RefreshToken', 2400],
        // Rotated: the newest refresh token, a later access token of it.
        ['RefreshToken', 600],
        ['AccessToken', 600],
      ] as const;
      const under2 = [
        ['AuthorizationCode', 950],
        ['AccessToken', 940],
        // A later code, never redeemed: issuing it is no use of the grant.
        ['AuthorizationCode', 920],
      ] as const;
      const stored: Stored[] = [];
      for (const [grantId, clientId, issued] of [
        [grant1, 'client-1', under1],
        [grant2, 'client-2', under2],
      ] as const) {
        for (const [model, age] of issued) {
          const id = newId();
          await adapter(model).upsert(id, token(grantId, { jti: id, accountId, clientId, kind: model, iat: now - age, exp }), ttl);
          stored.push([model, id]);
        }
      }
      const tokensOf1 = stored.slice(0, under1.length);
      const tokensOf2 = stored.slice(under1.length);
      return { now, exp, sessions, grant1, grant2, grant3, tokensOf1, tokensOf2 };
    }

    it('lists only the live sessions of one account, newest first', async () => {
      const [accountA, accountB] = [newId(), newId()];
      const a = await adminState(accountA);
      // B's records are newer, so they would come first if they leaked in.
      await adminState(accountB, a.now + 100);
      // An anonymous session (no accountId) belongs to nobody.
      const anonymous = newId();
      await adapter('Session').upsert(anonymous, { jti: anonymous, uid: newId(), iat: a.now }, 60);

      expect(await store().listSessions(accountA)).toEqual([
        {
          id: a.sessions.session2,
          uid: a.sessions.uid2,
          loginAt: at(a.now - 990),
          createdAt: at(a.now - 1000),
          expiresAt: at(a.exp),
          clients: ['client-2', 'client-3'],
          amr: null,
        },
        {
          id: a.sessions.session1,
          uid: a.sessions.uid1,
          loginAt: at(a.now - 2990),
          createdAt: at(a.now - 3000),
          expiresAt: at(a.exp),
          clients: ['client-1'],
          amr: ['pwd', 'otp'],
        },
      ]);
      expect(await store().listSessions(newId())).toEqual([]);
    });

    it('lists only the live grants of one account, newest first, last used by their newest token', async () => {
      const [accountA, accountB] = [newId(), newId()];
      const a = await adminState(accountA);
      await adminState(accountB, a.now + 100);

      expect(await store().listGrants(accountA)).toEqual([
        // No token under it: last used when created.
        { id: a.grant3, clientId: 'client-3', scopes: [], resources: {}, createdAt: at(a.now - 900), lastUsedAt: at(a.now - 900), expiresAt: at(a.exp) },
        // Only access and refresh tokens count: the newer unredeemed code (920) does not.
        { id: a.grant2, clientId: 'client-2', scopes: ['openid'], resources: {}, createdAt: at(a.now - 1000), lastUsedAt: at(a.now - 940), expiresAt: at(a.exp) },
        {
          id: a.grant1,
          clientId: 'client-1',
          // Rejected scopes are not granted, but openid never counts as rejected.
          scopes: ['openid', 'email', 'offline_access'],
          resources: { 'https://api.example/': ['read'], 'https://billing.example/': ['invoices:read'] },
          createdAt: at(a.now - 3000),
          lastUsedAt: at(a.now - 600),
          expiresAt: at(a.exp),
        },
      ]);
      expect(await store().listGrants(newId())).toEqual([]);
    });

    it('does not list records that expired, nor count expired tokens as use', async () => {
      const accountId = newId();
      const a = await adminState(accountId);
      const [session, grant, newest] = [newId(), newId(), newId()];
      await adapter('Session').upsert(session, { jti: session, uid: newId(), accountId, iat: a.now, loginTs: a.now, authorizations: {} }, 1);
      await adapter('Grant').upsert(grant, { jti: grant, accountId, clientId: 'client-9', iat: a.now, openid: { scope: 'openid' } }, 1);
      await adapter('AccessToken').upsert(newest, token(a.grant2, { jti: newest, accountId, clientId: 'client-2', iat: a.now }), 1);
      expect((await store().listSessions(accountId)).map(({ id }) => id)).toContain(session);
      expect((await store().listGrants(accountId)).find(({ id }) => id === a.grant2)?.lastUsedAt).toEqual(at(a.now));

      await sleep(1_500);

      expect((await store().listSessions(accountId)).map(({ id }) => id)).toEqual([a.sessions.session2, a.sessions.session1]);
      const grants = await store().listGrants(accountId);
      expect(grants.map(({ id }) => id)).toEqual([a.grant3, a.grant2, a.grant1]);
      expect(grants[1]?.lastUsedAt).toEqual(at(a.now - 940));
    });

    it('does not list a record that was re-upserted for another account', async () => {
      const [first, second, id] = [newId(), newId(), newId()];
      await adapter('Session').upsert(id, { jti: id, uid: newId(), accountId: first, iat: nowSeconds() }, 60);
      await adapter('Session').upsert(id, { jti: id, uid: newId(), accountId: second, iat: nowSeconds() }, 60);
      expect(await store().listSessions(first)).toEqual([]);
      expect((await store().listSessions(second)).map((session) => session.id)).toEqual([id]);
    });

    it('revokes one grant of an account with every record under it, and nothing else', async () => {
      const [accountA, accountB] = [newId(), newId()];
      const a = await adminState(accountA);
      const b = await adminState(accountB);
      // Issued under A's grant without an accountId: only the grant index leads to it.
      const anonymous = newId();
      await adapter('AccessToken').upsert(anonymous, { jti: anonymous, grantId: a.grant1, clientId: 'client-1', scope: 'openid' }, 60);

      expect(await store().revokeGrant(accountA, a.grant1)).toBe(true);

      await expectGone([['Grant', a.grant1], ...a.tokensOf1, ['AccessToken', anonymous]]);
      await expectKept([
        ['Grant', a.grant2],
        ['Grant', a.grant3],
        ...a.tokensOf2,
        ['Session', a.sessions.session1],
        ['Session', a.sessions.session2],
        ['Grant', b.grant1],
        ...b.tokensOf1,
      ]);
      expect((await store().listGrants(accountA)).map(({ id }) => id)).toEqual([a.grant3, a.grant2]);
      // The session still lists the client: oidc-provider itself drops a missing grant's authorization.
      expect((await store().listSessions(accountA)).map(({ id }) => id)).toEqual([a.sessions.session2, a.sessions.session1]);

      // Already gone, another account's, or unknown: not found, and nothing changes.
      expect(await store().revokeGrant(accountA, a.grant1)).toBe(false);
      expect(await store().revokeGrant(accountA, b.grant1)).toBe(false);
      expect(await store().revokeGrant(accountB, a.grant2)).toBe(false);
      expect(await store().revokeGrant(accountA, newId())).toBe(false);
      expect(await store().revokeGrant(accountA, '')).toBe(false);
      await expectKept([['Grant', b.grant1], ...b.tokensOf1, ['Grant', a.grant2], ...a.tokensOf2]);
      expect(await store().listGrants(accountB)).toHaveLength(3);
    });

    it('revokes one session of an account with the grants it authorized, and nothing else', async () => {
      const [accountA, accountB] = [newId(), newId()];
      const a = await adminState(accountA);
      const b = await adminState(accountB);

      expect(await store().revokeSession(accountA, a.sessions.session2)).toBe(true);

      await expectGone([['Session', a.sessions.session2], ['Grant', a.grant2], ['Grant', a.grant3], ...a.tokensOf2]);
      expect(await adapter('Session').findByUid(a.sessions.uid2)).toBeUndefined();
      await expectKept([['Session', a.sessions.session1], ['Grant', a.grant1], ...a.tokensOf1]);
      expect(await adapter('Session').findByUid(a.sessions.uid1)).toBeDefined();
      expect((await store().listSessions(accountA)).map(({ id }) => id)).toEqual([a.sessions.session1]);
      expect((await store().listGrants(accountA)).map(({ id }) => id)).toEqual([a.grant1]);

      expect(await store().revokeSession(accountA, a.sessions.session2)).toBe(false);
      expect(await store().revokeSession(accountA, b.sessions.session1)).toBe(false);
      expect(await store().revokeSession(accountB, a.sessions.session1)).toBe(false);
      expect(await store().revokeSession(accountA, newId())).toBe(false);
      expect(await store().revokeSession(accountA, '')).toBe(false);
      await expectKept([['Session', a.sessions.session1], ['Grant', a.grant1], ...a.tokensOf1]);
      await expectKept([
        ['Session', b.sessions.session1],
        ['Session', b.sessions.session2],
        ['Grant', b.grant1],
        ['Grant', b.grant2],
        ['Grant', b.grant3],
        ...b.tokensOf1,
        ...b.tokensOf2,
      ]);

      expect(await store().revokeSession(accountA, a.sessions.session1)).toBe(true);
      await expectGone([['Session', a.sessions.session1], ['Grant', a.grant1], ...a.tokensOf1]);
      expect(await store().listSessions(accountA)).toEqual([]);
      expect(await store().listGrants(accountA)).toEqual([]);
    });

    it('leaves a grant of another account alone even when a session names it', async () => {
      const [accountA, accountB] = [newId(), newId()];
      const b = await adminState(accountB);
      const [session, ownGrant] = [newId(), newId()];
      await adapter('Grant').upsert(ownGrant, { jti: ownGrant, accountId: accountA, clientId: 'client-1', iat: nowSeconds() }, 60);
      await adapter('Session').upsert(
        session,
        { jti: session, uid: newId(), accountId: accountA, iat: nowSeconds(), authorizations: { 'client-1': { grantId: ownGrant }, 'client-2': { grantId: b.grant2 } } },
        60,
      );

      expect(await store().revokeSession(accountA, session)).toBe(true);
      await expectGone([['Session', session], ['Grant', ownGrant]]);
      await expectKept([['Grant', b.grant2], ...b.tokensOf2]);
    });

    it('revokes everything through the store as through the revoker', async () => {
      const [accountA, accountB] = [newId(), newId()];
      const a = await adminState(accountA);
      const b = await adminState(accountB);
      const records: Stored[] = [
        ['Session', a.sessions.session1],
        ['Session', a.sessions.session2],
        ['Grant', a.grant1],
        ['Grant', a.grant2],
        ['Grant', a.grant3],
        ...a.tokensOf1,
        ...a.tokensOf2,
      ];

      expect(await store().revokeAll(accountA)).toBe(records.length);
      await expectGone(records);
      expect(await store().listSessions(accountA)).toEqual([]);
      expect(await store().listGrants(accountA)).toEqual([]);
      expect(await store().listSessions(accountB)).toHaveLength(2);
      expect(await store().listGrants(accountB)).toHaveLength(3);
      expect(await store().revokeAll(accountA)).toBe(0);
      expect(await revokeAccount(accountB)).toBe(records.length);
      await expectGone([['Grant', b.grant1], ...b.tokensOf1]);
    });

    it('refuses an empty account id everywhere', async () => {
      await expect(store().listSessions('')).rejects.toThrow(TypeError);
      await expect(store().listGrants('')).rejects.toThrow(TypeError);
      await expect(store().revokeSession('', newId())).rejects.toThrow(TypeError);
      await expect(store().revokeGrant('', newId())).rejects.toThrow(TypeError);
      await expect(store().revokeAll('')).rejects.toThrow(TypeError);
    });

    it('keeps models apart when they share an id', async () => {
      const id = newId();
      await adapter('AccessToken').upsert(id, token(newId(), { scope: 'access' }), 60);
      await adapter('RefreshToken').upsert(id, token(newId(), { scope: 'refresh' }), 60);
      expect((await adapter('AccessToken').find(id))?.scope).toBe('access');
      expect((await adapter('RefreshToken').find(id))?.scope).toBe('refresh');

      await adapter('RefreshToken').consume(id);
      expect((await adapter('AccessToken').find(id))?.consumed).toBeUndefined();

      await adapter('AccessToken').destroy(id);
      expect(await adapter('AccessToken').find(id)).toBeUndefined();
      expect((await adapter('RefreshToken').find(id))?.scope).toBe('refresh');
    });

    it('round-trips nested objects, arrays and unicode exactly', async () => {
      const id = newId();
      const payload: AdapterPayload = {
        jti: id,
        amr: ['pwd', 'mfa'],
        params: {
          nested: { deeper: { list: [1, 'two', { three: [3] }, [], {}], empty: [] }, flag: false, nothing: null },
          numbers: [0, -1, 1.5, 2 ** 53 - 1, 1e-7],
          text: 'Grüße, 日本語, עברית, e\u0301, 👩‍💻 "quoted" \\ back\nslash\ttab',
        },
        claims: { id_token: { email: { essential: true }, name: null } },
        extra: { 'ключ с пробелом': 'значение', '': 'empty key' },
      };
      await adapter('Interaction').upsert(id, payload, 60);
      expect(await adapter('Interaction').find(id)).toStrictEqual(payload);
    });
  });
}
