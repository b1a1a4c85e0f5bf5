import type Provider from 'oidc-provider';

/** The grants a provider session (by its uid) has authorized, one per client signed in there. */
export type SessionGrantIds = (sessionUid: string) => Promise<string[]>;

export function sessionGrantIds(provider: Provider): SessionGrantIds {
  return async (sessionUid) => {
    const session = await provider.Session.findByUid(sessionUid);
    return Object.values(session?.authorizations ?? {})
      .map((authorization) => authorization.grantId)
      .filter((id): id is string => typeof id === 'string' && id !== '');
  };
}
