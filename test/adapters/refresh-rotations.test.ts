import { afterAll, beforeAll, describe } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createRedisClient, type RedisClient } from '../../src/db/redis-connect.ts';
import { createRedisRefreshRotations, createSqlRefreshRotations } from '../../src/oidc/refresh-rotations.ts';
import { refreshRotationsContract } from './refresh-rotations-contract.ts';

describe('refresh rotations in SQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database?.drop());
  refreshRotationsContract(() => createSqlRefreshRotations(database.db));
});

describe.skipIf(!process.env.REDIS_URL)('refresh rotations in Redis', () => {
  let redis: RedisClient;
  const prefix = `idp-test:${randomBytes(6).toString('hex')}:`;
  beforeAll(async () => {
    redis = createRedisClient(process.env.REDIS_URL!);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });
  refreshRotationsContract(() => createRedisRefreshRotations(redis, prefix));
});
