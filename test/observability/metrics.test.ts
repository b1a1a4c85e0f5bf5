import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { authorizationRequest, seedWebClient, REDIRECT_URI } from '../helpers/oidc.ts';
import { createTestDatabaseSettings } from '../helpers/database.ts';
import { freePort } from '../helpers/ports.ts';
import { createMetricsServer } from '../../src/observability/http.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The value of the one sample whose name and labels match exactly (labels in prom-client's order). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics on the main port', () => {
  let app: TestApp;

  beforeAll(async () => {
    // An upstream that is never contacted: only its callback's failure page is used.
    app = await startTestApp({ UPSTREAM_CORP_KIND: 'oidc', UPSTREAM_CORP_ISSUER: 'http://127.0.0.1:9', UPSTREAM_CORP_CLIENT_ID: 'idp', UPSTREAM_CORP_CLIENT_SECRET: 'secret' });
  });
  afterAll(async () => app?.close());

  it('exposes HTTP, token, login, database, adapter and process metrics with bounded labels', async () => {
    // A client-credentials token without a resource: opaque, so stored through the adapter.
    const { secret } = await app.deps.clients.create({ id: 'metrics-job', grantTypes: ['client_credentials'] });
    const token = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`metrics-job:${secret!}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
    });
    expect(token.status).toBe(200);

    // A wrong password on the hosted login page.
    const rp = await seedWebClient(app);
    const browser = new Browser();
    const request = await authorizationRequest(rp.config);
    const step = await browser.follow(request.url, REDIRECT_URI);
    if (!('page' in step)) throw new Error('expected the login page');
    const form = readForm(step.html, '/login');
    const login = await browser.request(new URL(form.action, app.issuer), { form: { ...form.fields, email: rp.email, password: 'not the password' } });
    expect(login.status).toBe(400);

    expect((await fetch(`${app.issuer}/.well-known/openid-configuration`)).status).toBe(200);
    expect((await fetch(`${app.issuer}/no/such/page/12345`)).status).toBe(404);
    // A federated sign-in that comes back with a state that is not ours.
    expect((await fetch(`${app.issuer}/federation/corp/callback?state=forged&code=x`)).status).toBe(400);

    const response = await fetch(`${app.issuer}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();

    // Request durations: oidc-provider's route names, our route patterns, never a raw path.
    expect(text).toMatch(/^idp_http_request_duration_seconds_bucket\{[^}]*method="POST",route="token",status="200"\} 1$/m);
    expect(text).toMatch(/^idp_http_request_duration_seconds_count\{method="GET",route="discovery",status="200"\} \d+$/m);
    expect(text).toMatch(/^idp_http_request_duration_seconds_count\{method="GET",route="authorization",status="303"\} 1$/m);
    expect(text).toMatch(/^idp_http_request_duration_seconds_count\{method="POST",route="\/interaction\/:uid\/login",status="400"\} 1$/m);
    expect(text).toMatch(/^idp_http_request_duration_seconds_count\{method="GET",route="other",status="404"\} 1$/m);
    const routes = new Set([...text.matchAll(/route="([^"]*)"/g)].map((match) => match[1]!));
    const uid = new URL(form.action, app.issuer).pathname.split('/')[2]!;
    for (const route of routes) {
      expect(route).not.toContain('12345');
      expect(route).not.toContain(uid);
    }

    expect(sample(text, 'idp_tokens_issued_total{grant_type="client_credentials",token="access_token"}')).toBe(1);
    expect(text).not.toMatch(/idp_tokens_issued_total\{grant_type="client_credentials",token="(refresh|id)_token"\}/);
    expect(sample(text, 'idp_logins_total{method="password",outcome="invalid"}')).toBe(1);
    expect(sample(text, 'idp_logins_total{method="federated",outcome="state_invalid"}')).toBe(1);
    expect(text).toMatch(/^idp_http_request_duration_seconds_count\{method="GET",route="\/federation\/:upstream\/callback",status="400"\} 1$/m);

    expect(sample(text, 'idp_db_query_duration_seconds_count{operation="client-metadata",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'idp_db_query_duration_seconds_count{operation="query",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'idp_adapter_operation_duration_seconds_count{model="ClientCredentials",operation="upsert"}')).toBe(1);
    // Clients come from the SQL table through the config cache: their lookups are database
    // queries (client-metadata, above) and cache lookups, not provider-state adapter calls.
    expect(text).not.toContain('idp_adapter_operation_duration_seconds_count{model="Client"');
    expect(text).toMatch(/^idp_config_cache_lookups_total\{result="miss"\} [1-9]/m);
    expect(text).toMatch(/^idp_config_cache_lookups_total\{result="hit"\} [1-9]/m);
    expect(sample(text, 'idp_adapter_operation_duration_seconds_count{model="Interaction",operation="upsert"}')).toBeGreaterThanOrEqual(1);

    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \S+$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds \S+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
  });

  it('counts every token of an authorization-code and a refresh response once', async () => {
    const { signInThroughPages, PASSWORD } = await import('../helpers/oidc.ts');
    const client = await import('openid-client');
    const rp = await seedWebClient(app, { email: 'grace@example.com', clientId: 'web-two' });
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: rp.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    await client.refreshTokenGrant(rp.config, tokens.refresh_token!);

    const text = await (await fetch(`${app.issuer}/metrics`)).text();
    for (const kind of ['access_token', 'refresh_token', 'id_token']) {
      expect(sample(text, `idp_tokens_issued_total{grant_type="authorization_code",token="${kind}"}`)).toBe(1);
      expect(sample(text, `idp_tokens_issued_total{grant_type="refresh_token",token="${kind}"}`)).toBe(1);
    }
    expect(sample(text, 'idp_logins_total{method="password",outcome="success"}')).toBe(1);
    expect(sample(text, 'idp_adapter_operation_duration_seconds_count{model="AuthorizationCode",operation="consume"}')).toBe(1);
  });
});

describe('METRICS_ENABLED=false', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ METRICS_ENABLED: 'false' });
  });
  afterAll(async () => app?.close());

  it('collects nothing and answers /metrics with 404', async () => {
    expect(app.deps.metrics).toBeNull();
    expect((await fetch(`${app.issuer}/metrics`)).status).toBe(404);
  });
});

describe('METRICS_PORT', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ METRICS_PORT: String(await freePort()) });
  });
  afterAll(async () => app?.close());

  it('takes /metrics off the main port; the metrics server serves it and nothing else', async () => {
    expect((await fetch(`${app.issuer}/metrics`)).status).toBe(404);
    const server = createMetricsServer(app.deps.metrics!).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      // The main port's 404 for /metrics was measured like any request.
      expect(await metrics.text()).toMatch(/^idp_http_request_duration_seconds_count\{method="GET",route="other",status="404"\} 1$/m);
      expect((await fetch(`${base}/`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      server.close();
    }
  });
});

describe('npm start with METRICS_PORT', async () => {
  const fresh = await createTestDatabaseSettings();
  const [port, metricsPort] = [await freePort(), await freePort()];
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await fresh.drop();
  });

  it('serves /metrics on its own port, bound to HOST, and not on the main one; stops both on SIGTERM', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env, PORT: String(port), HOST: '127.0.0.1', METRICS_PORT: String(metricsPort), DATA_DIR: fresh.settings.dataDir,
      LOG_LEVEL: 'info', REDIS_KEY_PREFIX: `idp-metrics:${port}:`,
    };
    delete env.ISSUER;
    delete env.NODE_ENV;
    delete env.METRICS_ENABLED;
    if (fresh.settings.databaseUrl) env.DATABASE_URL = fresh.settings.databaseUrl;
    else delete env.DATABASE_URL;
    child = spawn(process.execPath, ['src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const started = performance.now();
    while (!/identity provider listening/.test(output)) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${output}`);
      if (performance.now() - started > 60_000) throw new Error(`not listening after 60 s: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(output).toContain(`"metricsPort":${metricsPort}`);

    expect((await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^idp_http_request_duration_seconds_count\{method="GET",route="discovery",status="200"\} \d+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit') as [number | null];
    expect(code).toBe(0);
  }, 120_000);
});
