import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-connect.ts';

/**
 * A Lua script sent by its SHA1 (EVALSHA) instead of its text. Our scripts are a few hundred
 * bytes to 2 KB; sent with EVAL they made up most of the bytes of a token request. runScript
 * sends the hash and falls back to the text on NOSCRIPT; inside a MULTI, the script is an ioredis
 * defined command (defineScripts, queueScript), which does the same per connection.
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
  /** SHA1 of the text, as EVALSHA names it. */
  readonly sha: string;
}

export function luaScript(name: string, keys: number | null, lua: string): LuaScript {
  return { name: `idp${name}`, keys, lua, sha: createHash('sha1').update(lua).digest('hex') };
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

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Runs a script on the client: keys first, then the other arguments, as in EVAL. It goes as a
 * plain EVALSHA, which ioredis auto-pipelines like any other command (a defined command is kept
 * out of auto-pipelining, see defineScripts): every command of an event-loop turn, scripts, reads
 * and writes of every request alike, leaves in one socket write, and on a busy server the write,
 * not Redis, is most of a command's cost. A Redis that does not know the script yet (first use,
 * restarted, flushed) answers NOSCRIPT; the text then goes once with EVAL, which also caches it.
 */
export async function runScript(redis: RedisClient, script: LuaScript, ...args: Array<string | number>): Promise<unknown> {
  const withCount = script.keys === null ? args : [script.keys, ...args];
  try {
    return await redis.evalsha(script.sha, ...(withCount as [number, ...Array<string | number>]));
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return redis.eval(script.lua, ...(withCount as [number, ...Array<string | number>]));
  }
}

/** Queues a script in a MULTI or pipeline made after defineScripts; its reply comes with exec(). */
export function queueScript(multi: ChainableCommander, script: LuaScript, ...args: Array<string | number>): void {
  const call = (multi as unknown as Callable)[script.name];
  if (!call) throw new Error(`Redis script ${script.name} is not defined on this pipeline (defineScripts before multi())`);
  call.apply(multi, args);
}
