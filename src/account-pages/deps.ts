import type { SelfService } from '../accounts/self-service.ts';
import type { Csrf } from '../interactions/csrf.ts';
import type { RenderPage } from '../pages/render.ts';

/** What the pages opened from mailed links need; wired in deps.ts. */
export interface AccountPageDeps {
  selfService: SelfService;
  csrf: Csrf;
  renderPage: RenderPage;
  passwordMinLength: number;
}
