import type { Deps } from '../deps.ts';

/** What admin API handlers may use: the same services the CLI calls. */
export type AdminDeps = Pick<Deps, 'accounts' | 'users' | 'mfaAdmin' | 'clients' | 'resources' | 'rbac' | 'accountState' | 'audit' | 'db' | 'config' | 'logger' | 'adminResource' | 'signingKeys' | 'webhooks' | 'auditFeed' | 'clock'>;
