import type Provider from 'oidc-provider';
import type { AccountService } from '../accounts/service.ts';
import type { ConsentService } from '../consents/service.ts';
import type { RenderPage } from '../pages/render.ts';
import type { Logger } from '../log.ts';
import type { Csrf } from './csrf.ts';

/** What the interaction handlers need; wired in deps.ts. */
export interface InteractionDeps {
  provider: Provider;
  accounts: AccountService;
  consents: ConsentService;
  csrf: Csrf;
  renderPage: RenderPage;
  logger: Logger;
}
