/** The parts of a client's metadata a page shows (OIDC Dynamic Client Registration §2). */
export interface ClientDisplay {
  id: string;
  name: string;
  logoUri: string | null;
  policyUri: string | null;
  tosUri: string | null;
  /** `client_uri`: the application's home page. */
  homeUri: string | null;
  /** `initiate_login_uri` (OIDC Core §4): where the application starts a sign-in itself. */
  initiateLoginUri: string | null;
}

interface ClientLike {
  clientId: string;
  clientName?: string | undefined;
  logoUri?: string | undefined;
  policyUri?: string | undefined;
  tosUri?: string | undefined;
  clientUri?: string | undefined;
  initiateLoginUri?: string | undefined;
}

/** Only web addresses become links or images: metadata is the client owner's to write. */
function webUrl(value: string | undefined): string | null {
  if (!value || !URL.canParse(value)) return null;
  const { protocol } = new URL(value);
  return protocol === 'https:' || protocol === 'http:' ? value : null;
}

function secureOrLoopback(url: string | null): string | null {
  if (!url) return null;
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(hostname) ? url : null;
}

export function clientDisplay(client: ClientLike | undefined | null, fallbackName: string): ClientDisplay {
  return {
    id: client?.clientId ?? '',
    name: client?.clientName || client?.clientId || fallbackName,
    logoUri: webUrl(client?.logoUri),
    policyUri: webUrl(client?.policyUri),
    tosUri: webUrl(client?.tosUri),
    homeUri: webUrl(client?.clientUri),
    // OIDC Core §4 requires https for it; plain http only on this machine, for development.
    initiateLoginUri: secureOrLoopback(webUrl(client?.initiateLoginUri)),
  };
}
