import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader, type JWK } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { adminToken } from '../helpers/admin.ts';
import { childEnv, spawnIdp, type CliResult } from '../helpers/cli.ts';
import type { KeyView } from '../../src/oidc/keys/view.ts';

function expectFailure(result: CliResult, message: RegExp): void {
  expect(result, result.stderr).toMatchObject({ code: 2, stdout: '' });
  expect(result.stderr).toMatch(/^idp: [^\n]+\n$/);
  expect(result.stderr).toMatch(message);
}

function parseJson<T>(result: CliResult): T {
  expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
  expect(result.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(result.stdout) as T;
}

// `idp keys` in a child process beside a running server, as an operator would use it: the
// server follows each change within seconds, without a restart.
describe('idp keys', { timeout: 240_000 }, () => {
  let app: TestApp;
  const idp = (...args: string[]) => spawnIdp(args, childEnv(app.storage.settings));
  const published = async (): Promise<string[]> => ((await (await fetch(`${app.issuer}/jwks`)).json()) as { keys: JWK[] }).keys.map((key) => key.kid!);
  async function within5s(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not within 5 s: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => app?.close());

  it('refuses bad input with one line and exit status 2', async () => {
    const [badAlg, noCommand, noKid] = await Promise.all([idp('keys', 'rotate', '--alg', 'HS256'), idp('keys'), idp('keys', 'retire')]);
    expectFailure(badAlg, /HS256.*Allowed choices are RS256, ES256/);
    expectFailure(noCommand, /missing command; see idp keys --help/);
    expectFailure(noKid, /--kid/);
    expectFailure(await idp('keys', 'retire', '--kid', 'no-such-kid'), /no published signing key no-such-kid/);
  });

  it('lists, rotates and retires; the running server follows each change within 5 s', async () => {
    const listed = parseJson<{ keys: KeyView[] }>(await idp('keys', 'list', '--json'));
    expect(listed.keys.map((key) => [key.alg, key.state])).toEqual([['RS256', 'active'], ['ES256', 'active']]);
    expect(JSON.stringify(listed)).not.toMatch(/"(d|p|q|jwk|private\w*)"/);
    const [oldRs, es] = listed.keys;

    // rotate: a next RS256 key, published at once, signing only after the pre-publication time.
    const rotated = parseJson<{ keys: KeyView[] }>(await idp('keys', 'rotate', '--alg', 'RS256', '--json'));
    expect(rotated.keys).toHaveLength(1);
    const next = rotated.keys[0]!;
    expect(next).toMatchObject({ alg: 'RS256', state: 'next' });
    expect(Date.parse(next.activatedAt!) - Date.parse(next.createdAt)).toBe(86_400_000);
    await within5s('the next key in /jwks', async () => (await published()).includes(next.kid));
    expect(decodeProtectedHeader(await adminToken(app)).kid).toBe(oldRs!.kid);

    // A second next key, or retiring the only ES256 key, is refused.
    expectFailure(await idp('keys', 'rotate', '--alg', 'RS256'), /a next RS256 key .* is published already .* rotate with now/);
    expectFailure(await idp('keys', 'retire', '--kid', es!.kid), new RegExp(`${es!.kid} is the active ES256 key and there is no next ES256 key .*idp keys rotate --alg ES256`));

    // retire the active key: the next one takes over; the old one stays published.
    const retired = parseJson<{ key: KeyView }>(await idp('keys', 'retire', '--kid', oldRs!.kid, '--json'));
    expect(retired.key).toMatchObject({ kid: oldRs!.kid, state: 'retired', publishedUntil: expect.any(String) });
    await within5s('tokens signed with the new key', async () => decodeProtectedHeader(await adminToken(app)).kid === next.kid);
    expect(await published()).toContain(oldRs!.kid);

    // --now: gone from /jwks at once (a compromised key).
    const removed = parseJson<{ key: KeyView }>(await idp('keys', 'retire', '--kid', oldRs!.kid, '--now', '--json'));
    expect(removed.key).toMatchObject({ state: 'removed', removedAt: expect.any(String) });
    await within5s('the removed key leaves /jwks', async () => !(await published()).includes(oldRs!.kid));

    const human = await idp('keys', 'list', '--all');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^KID +ALG +STATE +CREATED +ACTIVATED +ROTATES +RETIRED +PUBLISHED UNTIL\n/);
    expect(human.stdout).toContain(`${oldRs!.kid}  RS256  removed`);

    const events = (await app.deps.audit.list({ limit: 20 })).filter((event) => event.event.startsWith('key.')).map((event) => [event.event, event.details?.kid, event.details?.actor]);
    expect(events).toEqual([
      ['key.removed', oldRs!.kid, 'cli'],
      ['key.activated', next.kid, 'cli'],
      ['key.retired', oldRs!.kid, 'cli'],
      ['key.rotated', next.kid, 'cli'],
    ]);
  });
});
