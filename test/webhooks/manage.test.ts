import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';
import { childEnv, spawnIdp, type CliResult, type Env } from '../helpers/cli.ts';
import { startReceiver, type Receiver } from './receiver.ts';

/** A failed command: the exit code, nothing on stdout, exactly one line on stderr. */
function expectFailure(result: CliResult, code: number, message: RegExp): void {
  expect(result, result.stderr).toMatchObject({ code, stdout: '' });
  expect(result.stderr).toMatch(/^idp: [^\n]+\n$/);
  expect(result.stderr).toMatch(message);
}

function parseJson<T>(result: CliResult): T {
  expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
  expect(result.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(result.stdout) as T;
}

const webhookShape = {
  id: expect.stringMatching(/^[0-9a-f-]{36}$/), url: expect.any(String), description: expect.anything(), events: expect.any(Array), enabled: expect.any(Boolean),
  createdAt: expect.any(String), updatedAt: expect.any(String), previousSecretSignsUntil: null,
};

describe('webhooks: admin API and idp webhook', { timeout: 240_000 }, () => {
  let app: TestApp;
  let token: string;
  let readOnly: string;
  let receiver: Receiver;
  let env: Env;
  const call = (method: string, path: string, body?: unknown) => adminCall(app, token, method, path, body);
  const idp = (...args: string[]) => spawnIdp(args, env);
  const auditOf = async (event: string) => (await app.deps.db.query<{ details: Record<string, unknown> }>('SELECT details FROM audit_events WHERE event = $1 ORDER BY id', [event])).rows.map((row) => row.details);

  beforeAll(async () => {
    app = await startTestApp();
    receiver = await startReceiver();
    env = childEnv(app.storage.settings);
    [token, readOnly] = await Promise.all([adminToken(app, { clientId: 'ops-admin' }), adminToken(app, { clientId: 'ops-reader', scope: 'admin:read' })]);
  });
  afterAll(async () => {
    await receiver?.close();
    await app?.close();
  });

  it('admin API: create (secret once), read, change, rotate, test and delete, each audited', async () => {
    const created = await call('POST', '/webhooks', { url: receiver.url, events: ['login.*', 'webhook.test'], description: 'SIEM' });
    expect(created.status).toBe(201);
    expect(created.body.webhook).toEqual({ ...webhookShape, url: receiver.url, events: ['login.*', 'webhook.test'], description: 'SIEM', enabled: true });
    const { id } = created.body.webhook as { id: string };
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^whsec_/);

    const one = await call('GET', `/webhooks/${id}`);
    expect(one.body).toEqual(created.body.webhook);
    const list = await call('GET', '/webhooks');
    expect(list.body.items).toEqual([created.body.webhook]);
    for (const text of [JSON.stringify(one.body), JSON.stringify(list.body)]) expect(text).not.toContain(secret.slice(6));

    const changed = await call('PATCH', `/webhooks/${id}`, { events: [], description: null, enabled: false });
    expect(changed.body).toMatchObject({ events: [], description: null, enabled: false });

    const rotated = await call('POST', `/webhooks/${id}/secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(secret);
    expect(rotated.body.webhook.previousSecretSignsUntil).toEqual(expect.any(String));

    // A test reaches a disabled webhook: it was asked for by name. It is signed with both secrets.
    const tested = await call('POST', `/webhooks/${id}/test`);
    expect(tested.status).toBe(202);
    const [delivery] = await receiver.waitFor(1);
    expect(delivery!.headers['webhook-id']).toBe(`evt_${tested.body.eventId}`);
    expect(new Webhook(rotated.body.secret).verify(delivery!.body, delivery!.headers)).toMatchObject({ type: 'webhook.test', data: { details: { webhookId: id, actor: 'ops-admin' } } });
    expect(new Webhook(secret).verify(delivery!.body, delivery!.headers)).toMatchObject({ type: 'webhook.test' });

    expect((await call('DELETE', `/webhooks/${id}`)).status).toBe(204);
    expect(await call('GET', `/webhooks/${id}`)).toMatchObject({ status: 404, body: { error: 'webhook.not_found' } });

    const host = new URL(receiver.url).host;
    expect(await auditOf('webhook.created')).toEqual([{ actor: 'ops-admin', webhookId: id, host, events: ['login.*', 'webhook.test'], enabled: true }]);
    expect(await auditOf('webhook.updated')).toEqual([{ actor: 'ops-admin', webhookId: id, host, changed: ['events', 'description', 'enabled'], events: [], enabled: false }]);
    expect(await auditOf('webhook.secret_rotated')).toEqual([{ actor: 'ops-admin', webhookId: id, host, previousSignsUntil: expect.any(String) }]);
    expect(await auditOf('webhook.deleted')).toEqual([{ actor: 'ops-admin', webhookId: id, host }]);
    // The URL's path (which may carry a token of its own) stays out of the trail.
    expect(JSON.stringify(await app.deps.audit.list({}))).not.toContain('/hook');
  });

  it('admin API: bad input is a 400 naming the field; reading needs admin:read, changing admin:write', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ url: 'ftp://example.com/hook' }, /^body\.url: .*ftp scheme/],
      [{ url: 'http://hooks.example.com/in' }, /^body\.url: .*not a loopback host/],
      [{ url: 'https://user:pw@hooks.example.com/in' }, /^body\.url: .*credentials/],
      [{ url: 'https://hooks.example.com/in', events: ['login.suceeded'] }, /^body\.events\.0: "login\.suceeded" matches no audit event/],
      [{ url: 'https://hooks.example.com/in', events: ['login*'] }, /^body\.events\.0: .*neither an event name/],
      [{ url: 'https://hooks.example.com/in', secret: 'mine' }, /^body: Unrecognized key: "secret"/],
    ];
    for (const [body, message] of cases) {
      const answer = await call('POST', '/webhooks', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body).toMatchObject({ error: 'request.invalid' });
      expect(answer.body.message).toMatch(message);
    }
    expect((await call('GET', '/webhooks/not-a-uuid')).body.message).toMatch(/^path\.id: /);
    expect((await call('PATCH', `/webhooks/${crypto.randomUUID()}`, { enabled: true })).status).toBe(404);
    expect((await adminCall(app, readOnly, 'GET', '/webhooks')).status).toBe(200);
    expect((await adminCall(app, readOnly, 'POST', '/webhooks', { url: receiver.url })).status).toBe(403);
    expect((await adminCall(app, null, 'GET', '/webhooks')).status).toBe(401);
    const { rows } = await app.deps.db.query('SELECT 1 FROM webhooks');
    expect(rows).toEqual([]);
  });

  it('idp webhook: create prints the secret once; list, show, update, rotate-secret, test and delete; all with --json', async () => {
    const created = parseJson<{ webhook: { id: string; events: string[] }; secret: string }>(
      await idp('webhook', 'create', '--url', receiver.url, '--events', 'account.locked, mfa.*', '--description', 'pager', '--json'),
    );
    expect(created.webhook.events).toEqual(['account.locked', 'mfa.*']);
    expect(created.secret).toMatch(/^whsec_/);
    const { id } = created.webhook;
    const human = await idp('webhook', 'list');
    expect(human.stdout).toMatch(new RegExp(`^ID\\s+ENABLED\\s+URL\\s+EVENTS\\s+DESCRIPTION\\n${id}\\s+yes\\s+${receiver.url.replace(/[.]/g, '\\.')}\\s+account\\.locked,mfa\\.\\*\\s+pager\\n$`));
    expect(human.stdout).not.toContain(created.secret.slice(6));
    expect(parseJson<{ webhook: { id: string } }>(await idp('webhook', 'show', '--id', id, '--json')).webhook.id).toBe(id);
    const updated = parseJson<{ webhook: { enabled: boolean; events: string[]; description: string | null } }>(
      await idp('webhook', 'update', '--id', id, '--enabled', 'false', '--events', '', '--description', '', '--json'),
    );
    expect(updated.webhook).toMatchObject({ enabled: false, events: [], description: null });
    const rotated = await idp('webhook', 'rotate-secret', '--id', id, '--now');
    expect(rotated.stdout).toMatch(/^new signing secret for webhook .* \(shown only this once; .*\): whsec_\S+\nthe previous one no longer signs\n$/);
    const secret = /whsec_\S+/.exec(rotated.stdout)![0];
    const before = receiver.deliveries.length;
    const { eventId } = parseJson<{ eventId: string }>(await idp('webhook', 'test', '--id', id, '--json'));
    const deliveries = await receiver.waitFor(before + 1);
    const delivery = deliveries.find((one) => one.headers['webhook-id'] === `evt_${eventId}`)!;
    expect(new Webhook(secret).verify(delivery.body, delivery.headers)).toMatchObject({ type: 'webhook.test', data: { details: { actor: 'cli', webhookId: id } } });
    expect(parseJson(await idp('webhook', 'delete', '--id', id, '--json'))).toEqual({ id, deleted: true });
    expect((await idp('webhook', 'list', '--json')).stdout).toBe('{"webhooks":[]}\n');
  });

  it('idp webhook: bad input exits 2 with one line naming what is wrong', async () => {
    const [scheme, events, enabled, missing, unknown] = await Promise.all([
      idp('webhook', 'create', '--url', 'ftp://example.com/hook'),
      idp('webhook', 'create', '--url', 'https://hooks.example.com/in', '--events', 'login.bogus'),
      idp('webhook', 'update', '--id', crypto.randomUUID(), '--enabled', 'maybe'),
      idp('webhook', 'create'),
      idp('webhook', 'show', '--id', crypto.randomUUID(), '--json'),
    ]);
    expectFailure(scheme, 2, /^idp: url: "ftp:\/\/example\.com\/hook" uses the ftp scheme/);
    expectFailure(events, 2, /--events.*"login\.bogus" matches no audit event/);
    expectFailure(enabled, 2, /--enabled.*expected true or false/);
    expectFailure(missing, 2, /required option '--url <url>'/);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(JSON.parse(unknown.stderr)).toEqual({ error: 'webhook.not_found', error_description: expect.stringMatching(/^no webhook /) });
  });
});
