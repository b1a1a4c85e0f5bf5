import type { InteractionDeps } from './deps.ts';

/** Everything the login page shows, from any handler that renders it (first view, failed login). */
export async function loginPage(
  { provider, csrf, renderPage, upstreams, registrationEnabled }: InteractionDeps,
  details: { uid: string; params: Record<string, unknown> },
  form: { email: string; error: string | null },
): Promise<string> {
  const client = await provider.Client.find(String(details.params.client_id));
  return renderPage('login', {
    title: 'Sign in',
    uid: details.uid,
    csrf: csrf.token(details.uid),
    clientName: client?.clientName ?? client?.clientId ?? 'the application',
    // Only configured upstreams get a button.
    upstreams: [...upstreams.values()].map((upstream) => ({ id: upstream.id, kind: upstream.kind, displayName: upstream.displayName })),
    registrationEnabled,
    ...form,
  });
}
