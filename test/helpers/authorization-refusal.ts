import { expect } from 'vitest';
import { Browser } from './browser.ts';
import { REDIRECT_URI } from './oidc.ts';

/**
 * What /auth answers a request it refuses: the error redirected to the client's registered
 * redirect URI, or, when no redirect URI can be trusted, our 400 error page, whose details line
 * carries the code and the description.
 */
export async function authorizationRefusal(url: URL): Promise<{ error: string | null; description: string; redirected: boolean }> {
  const step = await new Browser().follow(url, REDIRECT_URI);
  if ('url' in step) {
    const query = new URL(step.url).searchParams;
    return { error: query.get('error'), description: query.get('error_description') ?? '', redirected: true };
  }
  expect(step.page.status).toBe(400);
  return { error: /\b(?:invalid|unauthorized|unsupported)_\w+/.exec(step.html)?.[0] ?? null, description: step.html, redirected: false };
}
