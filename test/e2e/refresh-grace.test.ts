import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, PASSWORD } from '../helpers/oidc.ts';

interface Answer {
  status: number;
  body: { access_token?: string; refresh_token?: string; error?: string };
  at: number;
}

const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

/**
 * REFRESH_TOKEN_GRACE_SECONDS at its default (10): what mod_auth_openidc's parallel workers and
 * a client retrying after a lost response do, and what a replay after the window still costs.
 */
describe('refresh token rotation with a grace window', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let basic: string;

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app);
    basic = Buffer.from(`web-app:${rp.secret}`).toString('base64');
    const other = await app.deps.clients.create({ id: 'other-app', redirectUris: ['http://127.0.0.1:9/other'], grantTypes: ['authorization_code', 'refresh_token'] });
    otherBasic = Buffer.from(`other-app:${other.secret}`).toString('base64');
  });
  afterAll(async () => app?.close());
  let otherBasic: string;

  async function refresh(token: string, credentials = basic): Promise<Answer> {
    const response = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${credentials}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }),
    });
    return { status: response.status, body: await response.json() as Answer['body'], at: Date.now() };
  }

  async function signIn(): Promise<{ refreshToken: string; accountId: string }> {
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: rp.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    return { refreshToken: tokens.refresh_token!, accountId: tokens.claims()!.sub };
  }

  const userinfo = async (accessToken: string) => (await fetch(`${app.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;

  it('answers 8 parallel refreshes with one token alike: all 200, one successor, working access tokens, the grant alive', async () => {
    const { refreshToken } = await signIn();
    const answers = await Promise.all(Array.from({ length: 8 }, () => refresh(refreshToken)));
    const statuses = answers.map((answer) => answer.status);
    const successors = new Set(answers.map((answer) => answer.body.refresh_token));
    console.log(`8 parallel refreshes with one token: statuses ${statuses.join(',')}; distinct successors ${successors.size}`);
    expect(statuses).toEqual(Array(8).fill(200));
    expect(successors.size).toBe(1);
    const [successor] = successors;
    expect(successor).not.toBe(refreshToken);
    // Each got an access token of its own, and each works.
    expect(new Set(answers.map((answer) => answer.body.access_token)).size).toBe(8);
    for (const answer of answers) expect(await userinfo(answer.body.access_token!)).toBe(200);
    // The successor rotates as usual afterwards: the grant lives on.
    const next = await refresh(successor!);
    expect(next.status).toBe(200);
    expect(next.body.refresh_token).not.toBe(successor);
  });

  it('on Redis, reads the presented token with its claim, then consumes it and writes both new tokens and the rotation\'s record in one pipeline, the answer waiting for them', async (test) => {
    const redis = app.deps.redis;
    if (!redis || !('stream' in redis)) return test.skip();
    const { refreshToken } = await signIn();
    // What the provider's own connection sends, one entry per socket write.
    const stream = (redis as unknown as { stream: { write(chunk: unknown, ...rest: unknown[]): boolean } }).stream;
    const writes: string[] = [];
    const write = stream.write;
    stream.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
      writes.push(String(chunk));
      return write.call(this, chunk, ...rest);
    };
    let answer: Answer;
    try {
      answer = await refresh(refreshToken);
    } finally {
      stream.write = write;
    }
    expect(answer.status).toBe(200);
    const successor = answer.body.refresh_token!;
    const accessToken = answer.body.access_token!;
    const claim = writes.findIndex((sent) => sent.includes('RefreshRotation:') && sent.includes('NX'));
    expect(claim).toBeGreaterThanOrEqual(0);
    expect(writes[claim]).toContain(`RefreshToken:${refreshToken}`);
    const issued = writes.findIndex((sent) => sent.includes(`RefreshToken:${successor}`));
    expect(issued).toBeGreaterThan(claim);
    expect(writes[issued]).toContain(`AccessToken:${accessToken}`);
    // The consumption first, in the same write (its script by SHA1, the presented token its key).
    expect(writes[issued]!.indexOf(`RefreshToken:${refreshToken}`)).toBeGreaterThan(-1);
    expect(writes[issued]!.indexOf(`RefreshToken:${refreshToken}`)).toBeLessThan(writes[issued]!.indexOf(`RefreshToken:${successor}`));
    // The grace window's record of the successor goes with them.
    expect(writes[issued]).toMatch(/RefreshRotation:[^\r]*\r\n[^]*"state\\?":\\?"rotated/);
    // Claim with read; consume with both new tokens and the record: two writes in all.
    expect(writes.filter((sent) => !sent.includes('PruneIndex')).length).toBe(2);
    expect(await userinfo(accessToken)).toBe(200);
    expect((await refresh(successor)).status).toBe(200);
  });

  it('does not read ahead a junk refresh token from a caller that fails client authentication', async (test) => {
    const redis = app.deps.redis;
    if (!redis || !('stream' in redis)) return test.skip();
    const stream = (redis as unknown as { stream: { write(chunk: unknown, ...rest: unknown[]): boolean } }).stream;
    const writes: string[] = [];
    const write = stream.write;
    stream.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
      writes.push(String(chunk));
      return write.call(this, chunk, ...rest);
    };
    const junk = 'j'.repeat(20_000);
    let answer: Answer;
    try {
      answer = await refresh(junk, Buffer.from('web-app:not-the-secret').toString('base64'));
    } finally {
      stream.write = write;
    }
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_client');
    expect(writes.some((sent) => sent.includes(`RefreshToken:${junk.slice(0, 100)}`))).toBe(false);
  });

  it('takes over a claim whose claimant never answered (lost while storage was away): parallel refreshes still share one successor', async () => {
    const { refreshToken } = await signIn();
    // What a claimant leaves when its request failed before it could record anything.
    const key = createHash('sha256').update(refreshToken).digest('base64url');
    expect(await app.deps.refreshRotations.claim(key, 30)).toBe(true);
    const answers = await Promise.all(Array.from({ length: 4 }, () => refresh(refreshToken)));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(answers.map((answer) => answer.body.refresh_token)).size).toBe(1);
    expect((await refresh(answers[0]!.body.refresh_token!)).status).toBe(200);
  });

  it('answers a retry 2 s later with the same successor, and revokes the grant on a replay 11 s after the rotation', async () => {
    const { refreshToken, accountId } = await signIn();
    const grantIds = async () => new Set((await app.deps.accountState.listGrants(accountId)).map((grant) => grant.id));
    const before = await grantIds();
    const first = await refresh(refreshToken);
    expect(first.status).toBe(200);
    const successor = first.body.refresh_token!;

    // Another client holding the token gets nothing, even within the window.
    const stranger = await refresh(refreshToken, otherBasic);
    expect(stranger.status).toBe(400);
    expect(stranger.body.error).toBe('invalid_grant');

    await sleepUntil(first.at + 2000);
    const retry = await refresh(refreshToken);
    expect(retry.status).toBe(200);
    expect(retry.body.refresh_token).toBe(successor);
    expect(await userinfo(retry.body.access_token!)).toBe(200);

    await sleepUntil(first.at + 11_000);
    const replay = await refresh(refreshToken);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    // The whole grant went: its successor and the access tokens under it too.
    expect((await refresh(successor)).body.error).toBe('invalid_grant');
    expect(await userinfo(retry.body.access_token!)).toBe(401);
    const after = await grantIds();
    expect(after.size).toBe(before.size - 1);
  });
});
