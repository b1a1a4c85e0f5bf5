import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow between full collections on the embedded database.
 * V8's own factor goes up to 4x when collections are quick; under token traffic much of what
 * survives a young collection is a request's state kept only while it waited on storage, and it
 * piled up as 100+ MiB of RSS (embedded userinfo and sign-in peaks of 420-470 MiB, about 310 and
 * 350 MiB with this). On PostgreSQL + Redis the same setting cost about 15 % more CPU per
 * request for memory the process does not need, so there V8 keeps its default.
 */
export const EMBEDDED_HEAP_GROWING_PERCENT = 60;

/**
 * Sets the embedded database's heap growth at start-up (V8 reads the flag at each full
 * collection, so setting it now takes effect). An operator's own --heap-growing-percent on the
 * node command line wins (Node does not take it from NODE_OPTIONS). Returns whether it set the flag.
 */
export function tuneHeapGrowth(embedded: boolean, execArgv: readonly string[] = process.execArgv): boolean {
  if (!embedded) return false;
  if (execArgv.some((flag) => /^--heap[-_]growing[-_]percent(=|$)/.test(flag))) return false;
  setFlagsFromString(`--heap-growing-percent=${EMBEDDED_HEAP_GROWING_PERCENT}`);
  return true;
}
