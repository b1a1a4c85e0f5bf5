import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-connect.ts';

/**
 * A Lua script sent by its SHA1 (EVALSHA) instead of its text: ioredis' defineCommand sends the
 * text once per connection, then only the hash, and falls back to the text on NOSCRIPT (a Redis
 * restarted or flushed). Our scripts are a few hundred bytes to 2 KB; sent with EVAL they made up
 * most of the bytes of a token request.
 */
export interface LuaScript {
  /** The command name it is defined under on each client (unique per script). */
  readonly name: string;
  /**
   * How many of the arguments are keys (KEYS[1..n]); the rest are ARGV. null: it varies, and the
   * caller passes the count first, as EVALSHA's numkeys.
   */
  readonly keys: number | null;
  readonly lua: string;
}

export function luaScript(name: string, keys: number | null, lua: string): LuaScript {
  return { name: `idp${name}`, keys, lua };
}

type Callable = Record<string, ((...args: Array<string | number>) => unknown) | undefined>;

/**
 * Makes the scripts callable on this client and on every MULTI or pipeline created from it
 * afterwards (ioredis copies a client's defined commands into each new pipeline), so define
 * them before the first multi(). Defining one again is a no-op.
 */
export function defineScripts(redis: RedisClient, scripts: readonly LuaScript[]): void {
  const options = redis.options as { autoPipeliningIgnoredCommands?: string[] };
  for (const script of scripts) {
    if (typeof (redis as unknown as Callable)[script.name] === 'function') continue;
    redis.defineCommand(script.name, script.keys === null ? { lua: script.lua } : { numberOfKeys: script.keys, lua: script.lua });
    // ioredis 6's auto-pipelining mishandles a defined command whose pipeline fails (the
    // connection is down): it throws "results[i] is not iterable" from a callback, past every
    // caller. So scripts are written on their own; everything else is still auto-pipelined.
    options.autoPipeliningIgnoredCommands = [...(options.autoPipeliningIgnoredCommands ?? []), script.name];
  }
}

interface PendingScript {
  script: LuaScript;
  args: Array<string | number>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

const pendingScripts = new WeakMap<RedisClient, PendingScript[]>();

function callScript(redis: RedisClient, script: LuaScript, args: Array<string | number>): Promise<unknown> {
  let call = (redis as unknown as Callable)[script.name];
  if (!call) {
    defineScripts(redis, [script]);
    call = (redis as unknown as Callable)[script.name]!;
  }
  return call.apply(redis, args) as Promise<unknown>;
}

/**
 * Scripts cannot ride ioredis' auto-pipelining (see defineScripts), so each would be a socket
 * write of its own, and on a busy server the write, not Redis, is most of a script's cost. The
 * scripts called in one event-loop turn (by one request, or by many at once) go out together
 * instead, as one pipeline: one write, each caller still gets its own reply or error. A turn
 * with one script sends it as it is. A pipeline that fails as a whole (the connection is down)
 * fails every script in it with that error.
 */
function flushScripts(redis: RedisClient, batch: PendingScript[]): void {
  pendingScripts.delete(redis);
  if (batch.length === 1) {
    const [only] = batch as [PendingScript];
    callScript(redis, only.script, only.args).then(only.resolve, only.reject);
    return;
  }
  const pipeline = redis.pipeline();
  for (const pending of batch) queueScript(pipeline, pending.script, ...pending.args);
  pipeline.exec().then(
    (results) => {
      batch.forEach((pending, index) => {
        const reply = results?.[index];
        if (!reply) pending.reject(new Error(`Redis sent no reply for script ${pending.script.name} in its pipeline`));
        else if (reply[0]) pending.reject(reply[0]);
        else pending.resolve(reply[1]);
      });
    },
    (error: unknown) => {
      for (const pending of batch) pending.reject(error);
    },
  );
}

/**
 * Runs a script on the client (defining it there on first use): keys first, then the other
 * arguments, as in EVAL. On a standalone or Sentinel client it is sent with the other scripts of
 * the same event-loop turn (flushScripts); a Cluster pipeline must keep to one slot, so there
 * each script goes on its own.
 */
export function runScript(redis: RedisClient, script: LuaScript, ...args: Array<string | number>): Promise<unknown> {
  if (!(redis as unknown as Callable)[script.name]) defineScripts(redis, [script]);
  if ((redis as { isCluster?: boolean }).isCluster) return callScript(redis, script, args);
  return new Promise((resolve, reject) => {
    let batch = pendingScripts.get(redis);
    if (!batch) {
      batch = [];
      pendingScripts.set(redis, batch);
      setImmediate(flushScripts, redis, batch);
    }
    batch.push({ script, args, resolve, reject });
  });
}

/** Queues a script in a MULTI or pipeline made after defineScripts; its reply comes with exec(). */
export function queueScript(multi: ChainableCommander, script: LuaScript, ...args: Array<string | number>): void {
  const call = (multi as unknown as Callable)[script.name];
  if (!call) throw new Error(`Redis script ${script.name} is not defined on this pipeline (defineScripts before multi())`);
  call.apply(multi, args);
}
