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

/** Runs a script on the client (defining it there on first use): keys first, then the other arguments, as in EVAL. */
export function runScript(redis: RedisClient, script: LuaScript, ...args: Array<string | number>): Promise<unknown> {
  let call = (redis as unknown as Callable)[script.name];
  if (!call) {
    defineScripts(redis, [script]);
    call = (redis as unknown as Callable)[script.name]!;
  }
  return call.apply(redis, args) as Promise<unknown>;
}

/** Queues a script in a MULTI or pipeline made after defineScripts; its reply comes with exec(). */
export function queueScript(multi: ChainableCommander, script: LuaScript, ...args: Array<string | number>): void {
  const call = (multi as unknown as Callable)[script.name];
  if (!call) throw new Error(`Redis script ${script.name} is not defined on this pipeline (defineScripts before multi())`);
  call.apply(multi, args);
}
