import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { boundObserver } from './bound-observer.ts';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

export type LoginMethod = 'password' | 'federated' | 'passkey';
export type SecondFactorKind = 'totp' | 'recovery' | 'passkey';

/** What the sign-in services need: one call per finished sign-in attempt. */
export interface LoginRecorder {
  recordLogin(method: LoginMethod, outcome: string): void;
  /** One call per second-factor attempt: how it ended (success, invalid, locked, rate_limited). */
  recordSecondFactor?(method: SecondFactorKind, outcome: string): void;
}

export interface Metrics extends LoginRecorder {
  /** This instance's registry (never prom-client's global one): several apps can share a process. */
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly tokensIssued: Counter<'grant_type' | 'token'>;
  readonly logins: Counter<'method' | 'outcome'>;
  readonly dbQueryDuration: Histogram<'operation' | 'outcome'>;
  readonly adapterOperationDuration: Histogram<'model' | 'operation'>;
  readonly configCacheLookups: Counter<'result'>;
  /** Used authorization codes and refresh tokens presented again (the grant is revoked). */
  readonly tokenReplays: Counter<'token'>;
  /** Back-channel logout attempts by result: delivered, retry (a later attempt follows), failed (none does). */
  readonly backchannelLogoutDeliveries: Counter<'result'>;
  /** Reads the back-channel logout queue's depth at each scrape (src/events/backchannel-logout.ts). */
  watchBackchannelLogoutQueue(pending: () => Promise<number>): void;
  /** Webhook delivery attempts by result: delivered, retry (a later attempt follows), failed (the last; audited), skipped (webhook deleted or disabled). */
  readonly webhookDeliveries: Counter<'result'>;
  /** The database observer hook (see Database.setObserver). */
  observeQuery(operation: string, seconds: number, ok: boolean): void;
  /** Counts the tokens oidc-provider issues, by grant type. */
  instrumentProvider(provider: Provider): void;
}

// Fast paths (a cached token request, a named query) take a few milliseconds; sign-in pages
// spend most of theirs in argon2 (tens to hundreds). Storage calls are an order finer.
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STORAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

// Only the tokens a client receives in the token response; each is counted once per response.
const TOKEN_FIELDS = ['access_token', 'refresh_token', 'id_token'] as const;

/*
 * Process metrics (CPU, memory, handles, GC, event-loop lag incl. nodejs_eventloop_lag_p99_seconds)
 * describe the process, not an app instance, and each collectDefaultMetrics() call starts its own
 * event-loop monitor and GC observer that are never stopped. So they are created once per
 * process, in a private registry, and the same metric objects are registered in every instance's
 * registry.
 */
let processMetrics: Metric[] | undefined;
function defaultProcessMetrics(): Metric[] {
  if (!processMetrics) {
    const register = new Registry();
    collectDefaultMetrics({ register });
    // getMetricsAsArray() returns the metric objects themselves; its typing says MetricObject.
    processMetrics = register.getMetricsAsArray() as unknown as Metric[];
  }
  return processMetrics;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  for (const metric of defaultProcessMetrics()) registry.registerMetric(metric);

  const registers = [registry];
  const httpRequestDuration = new Histogram({
    name: 'idp_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern (or oidc-provider route name) and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });
  const tokensIssued = new Counter({
    name: 'idp_tokens_issued_total',
    help: 'Tokens returned by the token endpoint, by grant type and token type.',
    labelNames: ['grant_type', 'token'] as const,
    registers,
  });
  const secondFactors = new Counter({
    name: 'idp_second_factor_total',
    help: 'Second-factor attempts in sign-ins by method (totp, recovery, passkey) and outcome.',
    labelNames: ['method', 'outcome'] as const,
    registers,
  });
  const logins = new Counter({
    name: 'idp_logins_total',
    help: 'Finished sign-in attempts by method (password, federated, passkey) and outcome.',
    labelNames: ['method', 'outcome'] as const,
    registers,
  });
  const dbQueryDuration = new Histogram({
    name: 'idp_db_query_duration_seconds',
    help: 'SQL statements by operation (the prepared statement name, else query or transaction) and outcome (ok, error).',
    labelNames: ['operation', 'outcome'] as const,
    buckets: STORAGE_BUCKETS,
    registers,
  });
  const queryObservers = new Map<string, (seconds: number) => void>();
  const adapterOperationDuration = new Histogram({
    name: 'idp_adapter_operation_duration_seconds',
    help: 'oidc-provider storage adapter calls by model and operation.',
    labelNames: ['model', 'operation'] as const,
    buckets: STORAGE_BUCKETS,
    registers,
  });

  const configCacheLookups = new Counter({
    name: 'idp_config_cache_lookups_total',
    help: 'Lookups of clients, resources and roles in the config cache by result: hit, miss, or bypass (its change feed is down). Absent when the cache is off (CONFIG_CACHE_ENABLED=false).',
    labelNames: ['result'] as const,
    registers,
  });

  const tokenReplays = new Counter({
    name: 'idp_token_replays_total',
    help: 'Used authorization codes and refresh tokens presented again after any grace window, by token (authorization_code, refresh_token); each revoked its grant.',
    labelNames: ['token'] as const,
    registers,
  });

  const backchannelLogoutDeliveries = new Counter({
    name: 'idp_backchannel_logout_deliveries_total',
    help: 'Back-channel logout token deliveries by result: delivered, retry (failed, tried again later), failed (the last attempt, or one that cannot succeed; audited).',
    labelNames: ['result'] as const,
    registers,
  });
  const webhookDeliveries = new Counter({
    name: 'idp_webhook_deliveries_total',
    help: 'Webhook delivery attempts by result: delivered, retry (failed, tried again later), failed (the last attempt; audited as webhook.delivery_failed), skipped (the webhook was deleted or disabled meanwhile).',
    labelNames: ['result'] as const,
    registers,
  });
  let backchannelLogoutPending: (() => Promise<number>) | null = null;
  new Gauge({
    name: 'idp_backchannel_logout_queued',
    help: 'Back-channel logout tokens waiting to be delivered (new, or between retries), across all instances.',
    registers,
    async collect() {
      // A scrape while the database is down still answers, without this one.
      if (backchannelLogoutPending) this.set(await backchannelLogoutPending().catch(() => Number.NaN));
    },
  });

  return {
    registry, httpRequestDuration, tokensIssued, logins, dbQueryDuration, adapterOperationDuration, configCacheLookups, tokenReplays, backchannelLogoutDeliveries, webhookDeliveries,
    watchBackchannelLogoutQueue(pending) {
      backchannelLogoutPending = pending;
    },
    recordLogin(method, outcome) {
      logins.inc({ method, outcome });
    },
    recordSecondFactor(method, outcome) {
      secondFactors.inc({ method, outcome });
    },
    observeQuery(operation, seconds, ok) {
      // Operations are prepared statement names or a handful of kinds: few, so kept bound.
      const key = `${operation}\0${ok ? 'ok' : 'error'}`;
      let observe = queryObservers.get(key);
      if (!observe) queryObservers.set(key, observe = boundObserver(dbQueryDuration, { operation, outcome: ok ? 'ok' : 'error' }));
      observe(seconds);
    },
    instrumentProvider(provider) {
      // grant.success fires once per successful token request, after the response body is set;
      // the body says which tokens the client got, including ID tokens (no model event of
      // their own) and JWT access tokens (`issued`, never `saved`).
      provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
        const grantType = ctx.oidc.params?.grant_type;
        const body = ctx.body as Record<string, unknown> | null | undefined;
        if (typeof grantType !== 'string' || !body || typeof body !== 'object') return;
        for (const token of TOKEN_FIELDS) {
          if (typeof body[token] === 'string') tokensIssued.inc({ grant_type: grantType, token });
        }
      });
    },
  };
}
