import { randomUUID } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { AuditLog } from '../audit/service.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../observability/metrics.ts';
import { OutboundRefusedError, type OutboundFetch } from '../http/outbound.ts';
import type { JobHandler } from './queue.ts';
import type { LogoutJob } from './backchannel-logout.ts';

/** Back-Channel Logout 1.0 §2.4: the `events` member that makes a JWT a logout token. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

type Client = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

/** How one attempt ended: `retry` fails the job so the queue tries again; `failed` never succeeds by trying. */
type Outcome =
  | { result: 'delivered'; status: number }
  | { result: 'retry'; status: number | null; reason: string }
  | { result: 'failed'; status: number | null; reason: string };

/**
 * Signs the logout token now, as oidc-provider's own Client#backchannelLogout does
 * (lib/models/client.js): an IdToken for `sub` with `use: 'logout'`, which sets typ logout+jwt,
 * iss, aud, iat and an exp two minutes on, signed the way the client's ID tokens are.
 */
async function logoutToken(provider: Provider, client: Client, job: LogoutJob): Promise<string> {
  const token = new provider.IdToken({ sub: job.sub }, { client }) as InstanceType<Provider['IdToken']> & { mask: Record<string, null> };
  token.mask = { sub: null };
  token.set('events', { [BACKCHANNEL_LOGOUT_EVENT]: {} });
  token.set('jti', randomUUID());
  if (client.backchannelLogoutSessionRequired) token.set('sid', job.sid);
  return token.issue({ use: 'logout' });
}

const refusedByPolicy = (error: unknown): OutboundRefusedError | null => {
  for (let current = error as { cause?: unknown } | undefined; current; current = current.cause as typeof current) {
    if (current instanceof OutboundRefusedError) return current;
  }
  return null;
};

/**
 * §2.8: the relying party answers 200 (we take any 2xx, and 204 as oidc-provider does). A 400 says
 * it found the token invalid, and a fresh one would be no different; other 4xx and redirects
 * (never followed) are as final. Refused addresses (OUTBOUND_ALLOWED_HOSTS) stay refused until
 * the operator changes the list. Timeouts, connection failures, 408, 429 and 5xx are worth
 * another attempt.
 */
async function post(outboundFetch: OutboundFetch, uri: string, token: string, signal: AbortSignal): Promise<Outcome> {
  try {
    const response = await outboundFetch(uri, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }).toString(),
      signal,
    });
    const { status } = response;
    if (status >= 200 && status < 300) return { result: 'delivered', status };
    const reason = `answered ${status}`;
    return status === 408 || status === 429 || status >= 500 ? { result: 'retry', status, reason } : { result: 'failed', status, reason };
  } catch (error) {
    const refused = refusedByPolicy(error);
    if (refused) return { result: 'failed', status: null, reason: refused.message };
    let cause = error as { cause?: unknown; message?: string };
    while (cause.cause) cause = cause.cause as typeof cause;
    return { result: 'retry', status: null, reason: cause.message ?? String(error) };
  }
}

/**
 * The queue's worker: one logout token to one client. It uses the provider instance current at
 * delivery (keys may have rotated since the logout was queued) and the client as registered now:
 * one that was deleted or no longer has a backchannel_logout_uri is not sent anything.
 */
export function createLogoutDelivery(deps: {
  provider: () => Provider;
  outboundFetch: OutboundFetch;
  audit: AuditLog;
  logger: Logger;
  metrics: Metrics | null;
}): JobHandler<LogoutJob> {
  const { outboundFetch, audit, logger, metrics } = deps;

  const record = (event: 'logout.backchannel_delivered' | 'logout.backchannel_failed', job: LogoutJob, details: Record<string, unknown>, reason?: string) =>
    audit.record({ event, reason: reason ?? null, accountId: job.sub, details: { clientId: job.clientId, sid: job.sid, ...details } })
      // The delivery has happened (or never will): a lost audit row must not turn into a resend.
      .catch((error: unknown) => logger.error({ err: error, event, clientId: job.clientId }, 'back-channel logout audit event not recorded'));

  return async (job, { attempt, last, signal }) => {
    const provider = deps.provider();
    let outcome: Outcome;
    let uri: string | null = null;
    try {
      const client = await provider.Client.find(job.clientId);
      if (!client?.backchannelLogoutUri) {
        logger.info({ clientId: job.clientId, sid: job.sid }, 'back-channel logout dropped: the client no longer registers a backchannel_logout_uri');
        return;
      }
      uri = client.backchannelLogoutUri;
      outcome = await post(outboundFetch, uri, await logoutToken(provider, client, job), signal);
    } catch (error) {
      // Reading the client or signing failed (storage, keys): this side's trouble, worth a retry.
      outcome = { result: 'retry', status: null, reason: (error as Error).message };
    }
    // Without the query: the log and the audit trail need where it went, not what it carried.
    const where = uri ? ((url) => `${url.origin}${url.pathname}`)(new URL(uri)) : null;
    const context = { clientId: job.clientId, sid: job.sid, attempt: attempt + 1, url: where, status: outcome.status };
    if (outcome.result === 'delivered') {
      metrics?.backchannelLogoutDeliveries.inc({ result: 'delivered' });
      logger.info(context, 'back-channel logout delivered');
      await record('logout.backchannel_delivered', job, { attempts: attempt + 1, url: where, status: outcome.status });
      return;
    }
    if (outcome.result === 'retry' && !last) {
      metrics?.backchannelLogoutDeliveries.inc({ result: 'retry' });
      logger.warn({ ...context, reason: outcome.reason }, 'back-channel logout failed; it will be retried');
      throw new Error(`back-channel logout to ${job.clientId}: ${outcome.reason}`);
    }
    metrics?.backchannelLogoutDeliveries.inc({ result: 'failed' });
    logger.error({ ...context, reason: outcome.reason }, 'back-channel logout given up');
    await record('logout.backchannel_failed', job, { attempts: attempt + 1, url: where, status: outcome.status, error: outcome.reason.slice(0, 300) }, outcome.result === 'failed' ? 'refused' : 'retries_exhausted');
  };
}
