import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { usingPostgres } from '../helpers/database.ts';
import { connectPostgres, type Database } from '../../src/db/database.ts';
import { openEmbedded } from '../../src/db/embedded.ts';
import { CONFIG_TABLES } from '../../src/cache/config-cache.ts';

if (!usingPostgres) console.warn('\n!! SKIPPED the two-instance config cache tests: they need PostgreSQL (the second CI pass runs them).\n');

const API = 'https://reports.example.com';

async function clientCredentials(app: TestApp, id: string, secret: string, extra: Record<string, string> = {}) {
  const response = await fetch(`${app.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...extra }),
  });
  return { status: response.status, body: await response.json() as Record<string, string> };
}

/** Polls until check() holds; returns how long that took (ms), or throws after `limitMs`. */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - started;
}

const hits = async (app: TestApp) => {
  const text = await app.deps.metrics!.registry.getSingleMetricAsString('idp_config_cache_lookups_total');
  return Number(/result="hit"} (\d+)/.exec(text)?.[1] ?? 0);
};

describe('config cache: where it runs', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => app?.close());

  it('every cached table announces its changes (migration 0014 and CONFIG_TABLES agree)', async () => {
    const { rows } = await app.deps.db.query<{ table: string }>(
      `SELECT DISTINCT event_object_table AS table FROM information_schema.triggers
        WHERE action_statement LIKE '%idp_notify_config_changed%' ORDER BY 1`,
    );
    expect(rows.map((row) => row.table)).toEqual([...CONFIG_TABLES].sort());
  });

  it('is on, on PostgreSQL and on the embedded database alike', () => {
    expect(app.deps.configCache.active).toBe(true);
  });
});

describe.skipIf(usingPostgres)('config cache on the embedded database', () => {
  let app: TestApp;
  let cli: Database;
  beforeAll(async () => {
    app = await startTestApp();
    // What `idp` does while the server runs: joins the server's database over its socket.
    cli = await openEmbedded(app.storage.settings.dataDir, 'cli');
  });
  afterAll(async () => {
    await cli?.close();
    await app?.close();
  });

  it('hears a change the CLI makes through the server\'s socket before the CLI hears its commit', async () => {
    const { secret } = await app.deps.clients.create({ id: 'svc-embedded', grantTypes: ['client_credentials'] });
    expect((await clientCredentials(app, 'svc-embedded', secret!)).status).toBe(200);
    const before = await hits(app);
    expect((await clientCredentials(app, 'svc-embedded', secret!)).status).toBe(200);
    expect(await hits(app)).toBeGreaterThan(before);

    await cli.query(`UPDATE clients SET metadata = jsonb_set(metadata, '{client_secret}', to_jsonb($1::text)) WHERE id = 'svc-embedded'`, ['y'.repeat(40)]);
    // No polling: the notification was dispatched in the server's process as the UPDATE committed.
    expect((await clientCredentials(app, 'svc-embedded', secret!)).status).toBe(401);
    expect((await clientCredentials(app, 'svc-embedded', 'y'.repeat(40))).status).toBe(200);
  });
});

describe.skipIf(!usingPostgres)('config cache on PostgreSQL: changes reach every instance', () => {
  let first: TestApp;
  let second: TestApp;
  let sql: Database;

  beforeAll(async () => {
    first = await startTestApp();
    second = await startTestApp({}, { sharing: first });
    sql = connectPostgres(first.storage.settings.databaseUrl!, 1);
  });
  afterAll(async () => {
    await sql?.close();
    await second?.close();
    await first?.close();
  });

  it('serves a known client from memory, and a secret rotated on another instance stops working here without waiting out the TTL', async () => {
    const { secret } = await first.deps.clients.create({ id: 'svc-rotate', grantTypes: ['client_credentials'] });
    expect((await clientCredentials(first, 'svc-rotate', secret!)).status).toBe(200);
    const before = await hits(first);
    expect((await clientCredentials(first, 'svc-rotate', secret!)).status).toBe(200);
    expect(await hits(first)).toBeGreaterThan(before);

    const rotated = await second.deps.clients.rotateSecret('svc-rotate');
    // Pushed, not waited out: the TTL is 60 s. The bound is loose because the CI host can stall
    // a process for a second or more; a notification normally arrives within milliseconds.
    await within(5000, async () => (await clientCredentials(first, 'svc-rotate', secret!)).status === 401);
    expect((await clientCredentials(first, 'svc-rotate', rotated.secret)).status).toBe(200);
  });

  it('sees a change made with plain SQL (the trigger notifies), for clients and for resource grants', async () => {
    const { secret } = await first.deps.clients.create({ id: 'svc-sql', grantTypes: ['client_credentials'] });
    await first.deps.resources.create({ indicator: API, scopes: ['read', 'write'] });
    await first.deps.resources.grant('svc-sql', API, ['read']);
    const scopeOf = async () => {
      const { status, body } = await clientCredentials(first, 'svc-sql', secret!, { resource: API, scope: 'read write' });
      return status === 200 ? String(decodeJwt(body.access_token!).scope) : `status ${status}`;
    };
    expect(await scopeOf()).toBe('read');
    expect(await scopeOf()).toBe('read');

    await sql.query(`UPDATE client_resource_scopes SET scopes = ARRAY['read', 'write'] WHERE client_id = 'svc-sql'`);
    await within(5000, async () => (await scopeOf()) === 'read write');

    await sql.query(`DELETE FROM clients WHERE id = 'svc-sql'`);
    await within(5000, async () => (await clientCredentials(first, 'svc-sql', secret!)).status === 401);
  });

  it('sees its own changes before the notification could arrive', async () => {
    const { secret } = await first.deps.clients.create({ id: 'svc-own', grantTypes: ['client_credentials'] });
    expect((await clientCredentials(first, 'svc-own', secret!)).status).toBe(200);
    const rotated = await first.deps.clients.rotateSecret('svc-own');
    // No wait: the write observer dropped the cache when the rotation committed.
    expect((await clientCredentials(first, 'svc-own', secret!)).status).toBe(401);
    expect((await clientCredentials(first, 'svc-own', rotated.secret)).status).toBe(200);
  });

  it('stops caching when its change feed is cut, keeps answering from the database, and resumes when the feed is back', async () => {
    const { secret } = await first.deps.clients.create({ id: 'svc-feed', grantTypes: ['client_credentials'] });
    expect((await clientCredentials(first, 'svc-feed', secret!)).status).toBe(200);
    // Cut every instance's LISTEN connection, as a database failover or a network cut would.
    const { rows } = await sql.query<{ cut: boolean }>(
      `SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'idp-change-feed'`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(2);
    await within(5000, async () => !first.deps.configCache.active);
    // A change while the feed is down, which no notification will announce to `first`.
    await sql.query(`UPDATE clients SET metadata = jsonb_set(metadata, '{client_secret}', to_jsonb($1::text)) WHERE id = 'svc-feed'`, ['x'.repeat(40)]);
    expect((await clientCredentials(first, 'svc-feed', secret!)).status).toBe(401);
    await within(5000, async () => first.deps.configCache.active && second.deps.configCache.active);
    expect((await clientCredentials(first, 'svc-feed', 'x'.repeat(40))).status).toBe(200);
    expect((await clientCredentials(first, 'svc-feed', secret!)).status).toBe(401);
  });
});
