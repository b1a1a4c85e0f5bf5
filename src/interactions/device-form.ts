/**
 * The two things our pages keep from the forms oidc-provider hands to the device flow's page
 * sources (lib/helpers/user_code_form.js): where the form posts, and its xsrf token, which
 * oidc-provider checks on every post to `/device` (lib/shared/xsrf.js). Our own markup replaces
 * the rest.
 */
export interface ProviderForm {
  action: string;
  xsrf: string;
}

const ACTION = /<form\b[^>]*\baction="([^"]*)"/;
const XSRF = /<input type="hidden" name="xsrf" value="([^"]*)"\s*\/?>/;

export function readProviderForm(html: string): ProviderForm {
  const action = ACTION.exec(html)?.[1];
  const xsrf = XSRF.exec(html)?.[1];
  // Both are oidc-provider's own values (a URL it built, a random token), never escaped text;
  // a form without them means oidc-provider changed its markup.
  if (action === undefined || xsrf === undefined) throw new Error('oidc-provider device form without an action or xsrf field');
  return { action, xsrf };
}
