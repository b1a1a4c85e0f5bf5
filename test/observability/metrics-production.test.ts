import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createApp } from '../../src/app.ts';
import type { Deps } from '../../src/deps.ts';
import { metricsOnMainPort } from '../../src/observability/http.ts';

/** The same services behind an app built from another configuration (production, here). */
async function serve(deps: Deps): Promise<{ url: string; server: Server }> {
  const server = createServer(createApp(deps).callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('/metrics in production', () => {
  let app: TestApp;
  const servers: Server[] = [];
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    for (const server of servers) server.close();
    await app?.close();
  });

  it('is not served on the main port unless METRICS_PUBLIC=true', async () => {
    const production = { ...app.deps.config, production: true };
    const closed = await serve({ ...app.deps, config: production });
    const open = await serve({ ...app.deps, config: { ...production, metrics: { ...production.metrics, public: true } } });
    servers.push(closed.server, open.server);
    expect((await fetch(`${closed.url}/metrics`)).status).toBe(404);
    const served = await fetch(`${open.url}/metrics`);
    expect(served.status).toBe(200);
    expect(await served.text()).toContain('idp_http_request_duration_seconds');
    // Outside production the main port serves them, as before.
    expect((await fetch(`${app.issuer}/metrics`)).status).toBe(200);
  });

  it('decides by environment, metrics port and METRICS_PUBLIC', () => {
    const metrics = { enabled: true, public: false };
    expect(metricsOnMainPort({ production: false, metrics })).toBe(true);
    expect(metricsOnMainPort({ production: true, metrics })).toBe(false);
    expect(metricsOnMainPort({ production: true, metrics: { ...metrics, public: true } })).toBe(true);
    expect(metricsOnMainPort({ production: false, metrics: { ...metrics, port: 9464 } })).toBe(false);
    expect(metricsOnMainPort({ production: false, metrics: { ...metrics, enabled: false } })).toBe(false);
  });
});
