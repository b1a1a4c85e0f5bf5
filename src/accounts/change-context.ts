import type { RequestContext } from './sign-in.ts';

/**
 * Who changes their own account, and through what: the audit log's reason is `via`, and the
 * mails the change causes are written in `locale`.
 */
export interface ChangeContext extends RequestContext {
  via: 'account_console' | 'account_api';
}
