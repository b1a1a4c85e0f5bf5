import type { Redis } from 'ioredis';
import type { Database } from '../../db/database.ts';
import { revokeAccountStateRedis } from './redis.ts';
import { revokeAccountStateSql } from './sql.ts';

/**
 * Ends every session and revokes every grant and token of one account (password reset, disabled
 * user); resolves to how many records it removed.
 */
export type RevokeAccountState = (accountId: string) => Promise<number>;

/**
 * Revokes where the provider state lives: Redis when the app has a Redis connection (with the
 * same key prefix as the adapter factory), else the SQL table.
 */
export function createAccountStateRevoker(options: { redis: Redis | null; prefix: string; db: Database }): RevokeAccountState {
  const { redis, prefix, db } = options;
  if (redis) return (accountId) => revokeAccountStateRedis(redis, prefix, accountId);
  return (accountId) => revokeAccountStateSql(db, accountId);
}
