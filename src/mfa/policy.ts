import type { Level } from './levels.ts';
import { higher, isLevel } from './levels.ts';

/**
 * Who must sign in with more than a password (issue 13 §4): everyone (`MFA_REQUIRED`), holders
 * of given roles (`MFA_REQUIRED_ROLES`, effective roles, so a composite counts), and each client
 * that sets `minimum_acr` in its metadata. A relying party's own `acr_values` can only raise the
 * level, never lower what this policy asks.
 */
export interface MfaPolicy {
  /** The lowest level this account must reach for this client (or anywhere, without one). */
  levelFor(accountId: string, client?: { minimumAcr?: unknown } | null): Promise<Level>;
  /** Whether this account must keep a second factor (so its last one may not be removed). */
  factorRequired(accountId: string): Promise<boolean>;
}

export function createMfaPolicy(deps: {
  requireAll: boolean;
  requiredRoles: readonly string[];
  rolesOf: (accountId: string) => Promise<readonly string[]>;
}): MfaPolicy {
  const roles = new Set(deps.requiredRoles);
  async function accountLevel(accountId: string): Promise<Level> {
    if (deps.requireAll) return 'mfa';
    if (roles.size === 0) return 'password';
    return (await deps.rolesOf(accountId)).some((role) => roles.has(role)) ? 'mfa' : 'password';
  }
  return {
    async levelFor(accountId, client) {
      const level = await accountLevel(accountId);
      const minimum = client?.minimumAcr;
      return isLevel(minimum) ? higher(level, minimum) : level;
    },
    factorRequired: async (accountId) => (await accountLevel(accountId)) !== 'password',
  };
}
