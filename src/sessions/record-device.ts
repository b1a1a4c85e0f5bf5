import type Provider from 'oidc-provider';
import type { Logger } from '../log.ts';
import type { SessionDevices } from './devices.ts';

interface LoadedSession {
  uid?: string;
  accountId?: string;
  exp?: number;
  destroyed?: boolean;
}

/**
 * Notes the browser and address of every signed-in provider session a request used: a sign-in
 * (the resume step saves the session with its account) and every later /auth it answers without
 * asking. oidc-provider saves a loaded session at the end of each such request with a fresh
 * lifetime (lib/shared/session.js), so the record's last use is the session's. Runs after the
 * provider answered; a failure to write is logged and never spoils the answer.
 */
export function recordSessionDevices(provider: Provider, devices: SessionDevices, logger: Logger): void {
  provider.use(async (ctx, next) => {
    await next();
    const session = (ctx.oidc?.entities as { Session?: LoadedSession } | undefined)?.Session;
    if (!session?.uid) return;
    try {
      if (session.destroyed) await devices.forget(session.uid);
      else if (session.accountId && typeof session.exp === 'number') {
        await devices.seen(session.uid, session.accountId, { ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null });
      }
    } catch (error) {
      logger.warn({ err: error, id: ctx.state.requestId }, 'the session\'s device record was not written');
    }
  });
}
