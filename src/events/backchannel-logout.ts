import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../log.ts';
import type { SessionsEnding } from '../oidc/adapters/account-state.ts';
import type { JobQueue, QueueDefinition } from './queue.ts';

/**
 * OpenID Connect Back-Channel Logout 1.0: every relying party a session signed in to, that
 * registered a `backchannel_logout_uri`, is sent a logout token when the session ends, whichever
 * way it ends. This file queues them; backchannel-logout-delivery.ts sends them.
 *
 * Two ways in, one queue: oidc-provider's RP-initiated logout asks each client of the session to
 * log out (`Client#backchannelLogout`, which we replace with queueing), and every other ending
 * (console, admin API, CLI, password reset and change, disabling, deleting) goes through the
 * account state store, which announces the sessions before it deletes them (`sessionsEnding`).
 * A job holds only who and which session: the token is signed when it is sent, with the keys of
 * that moment and a fresh iat/exp, however late a retry comes.
 */

export const BACKCHANNEL_LOGOUT_QUEUE = 'backchannel-logout';

export interface LogoutJob {
  clientId: string;
  /** The account id; the token's `sub` is derived from it as in ID tokens (pairwise clients included). */
  sub: string;
  /** The session's sid for this client (session.sidFor), sent when the client requires it. */
  sid: string;
}

export interface BackchannelLogoutSettings {
  retryLimit: number;
  retryDelaySeconds: number;
  retryDelayMaxSeconds: number;
}

export interface BackchannelLogouts {
  /** Queues one logout. */
  queue(job: LogoutJob): Promise<void>;
  /** The account state store's hook: a logout for each client of these sessions that registered for one. */
  sessionsEnding: SessionsEnding;
  /** Declares the queue (once); sending and working wait for it. */
  ready(): Promise<void>;
}

export function queueDefinition(settings: BackchannelLogoutSettings, outboundTimeoutMs: number): QueueDefinition {
  return {
    retryLimit: settings.retryLimit,
    retryDelaySeconds: settings.retryDelaySeconds,
    retryDelayMaxSeconds: settings.retryDelayMaxSeconds,
    // One attempt is one POST under the outbound deadline, plus signing; a lease far beyond it
    // only matters when an instance dies mid-attempt (another takes the job once it ends).
    attemptSeconds: Math.max(30, Math.ceil(outboundTimeoutMs / 1000) * 4),
  };
}

export function createBackchannelLogouts(deps: { jobs: JobQueue; provider: () => Provider; logger: Logger; definition: QueueDefinition }): BackchannelLogouts {
  const { jobs, logger } = deps;
  let defined: Promise<void> | null = null;
  const ready = (): Promise<void> => {
    defined ??= jobs.define(BACKCHANNEL_LOGOUT_QUEUE, deps.definition).catch((error: unknown) => {
      defined = null;
      throw error;
    });
    return defined;
  };
  const queue = async (job: LogoutJob): Promise<void> => {
    await ready();
    await jobs.send<LogoutJob>(BACKCHANNEL_LOGOUT_QUEUE, { clientId: job.clientId, sub: job.sub, sid: job.sid });
  };

  /** Whether the client registered for back-channel logout; a client whose stored metadata is invalid did not. */
  const registered = async (provider: Provider, clientId: string): Promise<boolean> => {
    try {
      return Boolean((await provider.Client.find(clientId))?.backchannelLogoutUri);
    } catch (error) {
      // A storage outage is thrown on: the session then stays, rather than ending unannounced.
      if (!(error instanceof errors.OIDCProviderError)) throw error;
      logger.warn({ clientId, reason: error.message }, 'back-channel logout skipped: the client\'s metadata is invalid');
      return false;
    }
  };

  return {
    queue,
    ready,
    async sessionsEnding(accountId, sessions) {
      const provider = deps.provider();
      const known = new Map<string, boolean>();
      for (const session of sessions) {
        for (const [clientId, sid] of Object.entries(session.sids)) {
          if (!known.has(clientId)) known.set(clientId, await registered(provider, clientId));
          if (known.get(clientId)) await queue({ clientId, sub: accountId, sid });
        }
      }
    },
  };
}

/** What of oidc-provider's Client model this replaces; `backchannelLogout` is not in its typings. */
interface ClientPrototype {
  clientId: string;
  backchannelLogout(sub: string, sid: string): Promise<void>;
  includeSid(): boolean;
}

/**
 * Fits one provider instance (each has its own model classes; see src/oidc/provider-holder.ts):
 * RP-initiated logout queues instead of posting once (lib/actions/end_session.js awaits the call
 * per client and emits backchannel.success or backchannel.error, so those now mean queued or not),
 * and every ID token carries `sid`, as discovery's backchannel_logout_session_supported promises
 * (Back-Channel Logout 1.0 §2.1), whatever the client registered.
 */
export function attachBackchannelLogout(provider: Provider, logouts: Pick<BackchannelLogouts, 'queue'>, logger: Logger): void {
  const prototype = (provider.Client as unknown as { prototype: ClientPrototype }).prototype;
  prototype.backchannelLogout = async function backchannelLogout(this: ClientPrototype, sub: string, sid: string) {
    await logouts.queue({ clientId: this.clientId, sub, sid });
  };
  prototype.includeSid = () => true;
  provider.on('backchannel.error', (ctx: KoaContextWithOIDC, error: Error, client: { clientId?: string } | undefined, accountId: string) => {
    logger.error({ err: error, id: ctx?.state?.requestId, clientId: client?.clientId, accountId }, 'back-channel logout could not be queued');
  });
}
