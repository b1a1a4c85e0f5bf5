import { Redis } from 'ioredis';

/** The Redis the tests use; an explicit REDIS_URL (as in CI) means it is required. */
export const redisTestUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const redisRequired = process.env.REDIS_URL !== undefined;

/** Whether a Redis answers PING at `url` within about 2 s. */
export async function redisReachable(url: string = redisTestUrl): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** The names of the commands a client sent while `work` ran (scripts inside a MULTI included). */
export async function commandsSentDuring(redis: Redis, work: () => Promise<void>): Promise<string[]> {
  const names: string[] = [];
  const spied = redis as unknown as { sendCommand(command: { name: string }): unknown };
  const original = spied.sendCommand;
  spied.sendCommand = function (this: unknown, command: { name: string }) {
    names.push(command.name);
    return original.call(this, command);
  };
  try {
    await work();
  } finally {
    spied.sendCommand = original;
  }
  return names;
}
