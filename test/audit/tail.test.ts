import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';
import { childEnv } from '../helpers/cli.ts';
import { PASSWORD } from '../helpers/oidc.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Tail {
  child: ChildProcess;
  /** Resolves with the next stdout line and when it arrived. */
  nextLine(timeoutMs?: number): Promise<{ line: string; at: number }>;
  stop(): Promise<number | null>;
}

/** `idp audit tail` in a child process, resolved once it says it is following. */
async function startTail(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Tail> {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'audit', 'tail', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<{ line: string; at: number }> = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      lines.push({ line: buffered.slice(0, newline), at: performance.now() });
      buffered = buffered.slice(newline + 1);
    }
    waiters.splice(0).forEach((wake) => wake());
  });
  const following = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.includes('following the audit trail')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`idp audit tail exited ${code}: ${stderr}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await following.finally(() => clearTimeout(timer));
  return {
    child,
    nextLine(timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`no line from idp audit tail within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        const take = () => {
          const next = lines.shift();
          if (!next) return void waiters.push(take);
          clearTimeout(deadline);
          resolve(next);
        };
        take();
      });
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGINT');
      const [code] = await once(child, 'exit') as [number | null];
      return code;
    },
  };
}

/** Reads a server-sent event stream: each event's id and parsed data, and comments. */
async function openStream(app: TestApp, token: string, options: { lastEventId?: string; query?: string } = {}) {
  const controller = new AbortController();
  const response = await fetch(`${app.issuer}/admin/api/v1/audit/stream${options.query ?? ''}`, {
    headers: { authorization: `Bearer ${token}`, ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}) },
    signal: controller.signal,
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  let ended = false;
  const next = async (timeoutMs = 10_000): Promise<{ id: string; data: Record<string, unknown> } | null> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const boundary = buffered.indexOf('\n\n');
      if (boundary >= 0) {
        const block = buffered.slice(0, boundary);
        buffered = buffered.slice(boundary + 2);
        if (block.startsWith(':')) continue;
        const id = /^id: (.*)$/m.exec(block)?.[1] ?? '';
        return { id, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown> };
      }
      if (ended) return null;
      const chunk = await Promise.race([reader.read(), new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now())))]);
      if (chunk === 'late') throw new Error(`no event within ${timeoutMs} ms`);
      if (chunk.done) ended = true;
      else buffered += chunk.value;
    }
  };
  return { response, next, close: () => controller.abort() };
}

describe('the live audit trail: idp audit tail and the admin API stream', { timeout: 180_000 }, () => {
  let app: TestApp;
  let token: string;
  let readOnly: string;
  let accountId: string;

  beforeAll(async () => {
    app = await startTestApp();
    [token, readOnly] = await Promise.all([adminToken(app, { clientId: 'ops-admin' }), adminToken(app, { clientId: 'ops-reader', scope: 'admin:read' })]);
    accountId = (await app.deps.accounts.create({ email: 'tess@example.com', password: PASSWORD, emailVerified: true })).id;
  });
  afterAll(async () => app?.close());

  it('idp audit tail prints each event within a second of its commit by the running app', async () => {
    const tail = await startTail(childEnv(app.storage.settings));
    try {
      for (const reason of ['first', 'second']) {
        const recorded = performance.now();
        await app.deps.audit.record({ event: 'login.failed', reason, accountId, email: 'tess@example.com', ip: '203.0.113.9' });
        const { line, at } = await tail.nextLine();
        expect(line).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z  login\\.failed  ${reason}  tess@example\\.com  ${accountId}  203\\.0\\.113\\.9  -$`));
        expect(at - recorded).toBeLessThan(1000);
      }
    } finally {
      expect(await tail.stop()).toBe(0);
    }
  });

  it('idp audit tail --json --events --email prints only matching events, one JSON object a line', async () => {
    const tail = await startTail(childEnv(app.storage.settings), '--json', '--events', 'mfa.*,account.locked', '--email', 'TESS@example.com');
    try {
      await app.deps.audit.record({ event: 'mfa.failed', reason: 'invalid', email: 'someone@example.com' });
      await app.deps.audit.record({ event: 'login.failed', reason: 'bad_password', accountId, email: 'tess@example.com' });
      // About her account, though the address is not given.
      await app.deps.audit.record({ event: 'mfa.reset', accountId, details: { actor: 'cli' } });
      await app.deps.audit.record({ event: 'account.locked', accountId, email: 'tess@example.com', details: { seconds: 60 } });
      const first = JSON.parse((await tail.nextLine()).line);
      const second = JSON.parse((await tail.nextLine()).line);
      expect([first, second]).toEqual([
        { id: expect.any(String), occurredAt: expect.any(String), event: 'mfa.reset', reason: null, accountId, email: null, ip: null, userAgent: null, details: { actor: 'cli' } },
        expect.objectContaining({ event: 'account.locked', accountId, details: { seconds: 60 } }),
      ]);
      await expect(tail.nextLine(1500)).rejects.toThrow(/no line/);
    } finally {
      expect(await tail.stop()).toBe(0);
    }
  });

  it('idp audit tail refuses an unknown event type with exit 2 and one line', async () => {
    const child = spawn(process.execPath, ['src/cli/main.ts', 'audit', 'tail', '--events', 'login.nope'], { cwd: root, env: childEnv(app.storage.settings), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const [code] = await once(child, 'exit') as [number | null];
    expect(code).toBe(2);
    expect(stderr).toMatch(/^idp: .*--events.*"login\.nope" matches no audit event[^\n]*\n$/);
  });

  it('the admin API streams events as server-sent events and resumes after Last-Event-ID', async () => {
    const stream = await openStream(app, readOnly, { query: '?events=login.*' });
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.response.headers.get('cache-control')).toBe('no-store');
    await app.deps.audit.record({ event: 'profile.updated', accountId });
    await app.deps.audit.record({ event: 'login.succeeded', accountId, email: 'tess@example.com' });
    const first = await stream.next();
    expect(first!.data).toMatchObject({ event: 'login.succeeded', accountId });
    expect(first!.id).toBe(first!.data.id);
    stream.close();

    // Recorded while nobody listens; a reconnecting EventSource sends the last id it saw.
    await app.deps.audit.record({ event: 'login.failed', reason: 'bad_password', accountId });
    await app.deps.audit.record({ event: 'login.failed', reason: 'locked', accountId });
    const resumed = await openStream(app, readOnly, { lastEventId: first!.id, query: '?events=login.*' });
    expect((await resumed.next())!.data).toMatchObject({ event: 'login.failed', reason: 'bad_password' });
    expect((await resumed.next())!.data).toMatchObject({ event: 'login.failed', reason: 'locked' });
    // And goes on live.
    await app.deps.audit.record({ event: 'login.succeeded', accountId });
    expect((await resumed.next())!.data).toMatchObject({ event: 'login.succeeded' });
    resumed.close();
  });

  it('the stream refuses bad input with a 400 naming it, and needs admin:read', async () => {
    expect(await adminCall(app, token, 'GET', '/audit/stream?events=login.nope')).toMatchObject({ status: 400, body: { error: 'request.invalid', message: expect.stringMatching(/^query\.events: "login\.nope" matches no audit event/) } });
    expect(await adminCall(app, token, 'GET', '/audit/stream?email=nobody')).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^query\.email: /) } });
    const badId = await fetch(`${app.issuer}/admin/api/v1/audit/stream`, { headers: { authorization: `Bearer ${token}`, 'last-event-id': 'abc' } });
    expect(badId.status).toBe(400);
    expect(await badId.json()).toMatchObject({ message: 'header Last-Event-ID: must be the id of an event from this stream' });
    expect((await adminCall(app, null, 'GET', '/audit/stream')).status).toBe(401);
    const document = (await adminCall(app, token, 'GET', '/openapi.json')).body;
    expect(Object.keys(document.paths['/audit/stream'].get.responses['200'].content)).toEqual(['text/event-stream']);
  });

  it('open streams end when the process starts shutting down, so they never hold it', async () => {
    const stream = await openStream(app, token);
    app.deps.closing();
    const started = performance.now();
    expect(await stream.next(5000)).toBeNull();
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
