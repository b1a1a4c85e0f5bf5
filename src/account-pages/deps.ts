import type Provider from 'oidc-provider';
import type { SelfService } from '../accounts/self-service.ts';
import type { Csrf } from '../interactions/csrf.ts';
import type { Pages } from '../pages/render.ts';

/** What the pages opened from mailed links need; wired in deps.ts. */
export interface AccountPageDeps {
  selfService: SelfService;
  csrf: Csrf;
  pages: Pages;
  passwordMinLength: number;
  /** To find the sign-in and the application a link leads back to. */
  provider: Provider;
  issuer: string;
}
