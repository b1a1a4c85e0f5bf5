import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JWK } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';
import type { KeyView } from '../../src/oidc/keys/view.ts';

describe('signing keys in the admin API', () => {
  let app: TestApp;
  let token: string;
  let reader: string;

  beforeAll(async () => {
    app = await startTestApp();
    token = await adminToken(app, { clientId: 'key-operator' });
    reader = await adminToken(app, { clientId: 'key-reader', scope: 'admin:read' });
  });
  afterAll(async () => app?.close());

  const published = async (): Promise<string[]> => ((await (await fetch(`${app.issuer}/jwks`)).json()) as { keys: JWK[] }).keys.map((key) => key.kid!);

  it('lists keys without private parts, to admin:read', async () => {
    const listed = await adminCall(app, reader, 'GET', '/keys');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((key: KeyView) => [key.alg, key.state, key.rotatesAt])).toEqual([['RS256', 'active', null], ['ES256', 'active', null]]);
    expect(JSON.stringify(listed.body)).not.toMatch(/"(d|p|q|jwk|private\w*)"/);
    expect((await adminCall(app, reader, 'POST', '/keys/rotations', {})).status).toBe(403);
  });

  it('rotates, refuses a second next key, switches at once with now, and retires; each change audited with the caller', async () => {
    const before = (await adminCall(app, token, 'GET', '/keys')).body.items as KeyView[];
    const rotated = await adminCall(app, token, 'POST', '/keys/rotations', {});
    expect(rotated.status).toBe(201);
    const next = rotated.body.items as KeyView[];
    expect(next.map((key) => [key.alg, key.state])).toEqual([['RS256', 'next'], ['ES256', 'next']]);
    // This instance follows its own change as it commits.
    expect(await published()).toEqual(expect.arrayContaining([...before, ...next].map((key) => key.kid)));

    const again = await adminCall(app, token, 'POST', '/keys/rotations', { alg: 'RS256' });
    expect(again).toMatchObject({ status: 409, body: { error: 'key.next_exists' } });
    expect((await adminCall(app, token, 'POST', '/keys/rotations', { alg: 'HS256' })).body).toMatchObject({ error: 'request.invalid', message: expect.stringMatching(/^body\.alg/) });
    expect((await adminCall(app, token, 'POST', '/keys/rotations', { later: true })).status).toBe(400);

    // now: the ES256 key already published takes over, rather than a new one nobody has seen.
    const esNext = next.find((key) => key.alg === 'ES256')!;
    const switched = await adminCall(app, token, 'POST', '/keys/rotations', { alg: 'ES256', now: true });
    expect(switched.body.items).toEqual([expect.objectContaining({ kid: esNext.kid, state: 'active' })]);

    // Retiring a next key withdraws it (it signed nothing); an unknown or malformed kid is refused.
    const rsNext = next.find((key) => key.alg === 'RS256')!;
    const withdrawn = await adminCall(app, token, 'POST', `/keys/${rsNext.kid}/retirement`, {});
    expect(withdrawn).toMatchObject({ status: 200, body: { kid: rsNext.kid, state: 'removed' } });
    expect(await published()).not.toContain(rsNext.kid);
    expect(await adminCall(app, token, 'POST', '/keys/nope/retirement', {})).toMatchObject({ status: 404, body: { error: 'key.not_found' } });
    expect((await adminCall(app, token, 'POST', '/keys/a.b/retirement', {})).status).toBe(400);
    const rsActive = before.find((key) => key.alg === 'RS256')!;
    expect(await adminCall(app, token, 'POST', `/keys/${rsActive.kid}/retirement`, {})).toMatchObject({ status: 409, body: { error: 'key.no_replacement' } });

    const all = (await adminCall(app, token, 'GET', '/keys?all=true')).body.items as KeyView[];
    expect(all.find((key) => key.kid === rsNext.kid)).toMatchObject({ state: 'removed' });
    expect(all.find((key) => key.kid === before.find((old) => old.alg === 'ES256')!.kid)).toMatchObject({ state: 'retired', publishedUntil: expect.any(String) });

    const events = (await app.deps.audit.list({ limit: 20 })).filter((event) => event.event.startsWith('key.'));
    expect(events.length).toBeGreaterThanOrEqual(5);
    expect(events.every((event) => event.details?.actor === 'key-operator')).toBe(true);
  });

  it('is in the OpenAPI document', async () => {
    const document = await (await fetch(`${app.issuer}/admin/api/v1/openapi.json`)).json() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/keys', '/keys/rotations', '/keys/{kid}/retirement']));
    expect(Object.keys(document.paths['/keys/rotations']!)).toEqual(['post']);
  });
});
