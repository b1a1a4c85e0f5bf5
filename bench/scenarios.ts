/**
 * The scenarios of `npm run bench`. Each prepares what it needs on a target (tokens, sign-ins),
 * warms up for `warmupSeconds` (not measured), then measures for `seconds` while the target's
 * peak RSS, CPU time and (ours only) storage round trips are recorded. Single-request scenarios
 * use autocannon with `connections` keep-alive connections; the sign-in flow uses
 * `signinConcurrency` fetch-based clients in a loop.
 */
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import type { ProcessMeter, ProcessUsage } from './processes.ts';
import type { RoundTripCounter, RoundTrips } from './round-trips.ts';
import { basicAuth, fixtures } from './fixtures.ts';
import { signIn, signIns, tokenRequest } from './flows.ts';

export interface Settings {
  /** Timed seconds per run of a scenario on a target (run.ts hands each round its share). */
  seconds: number;
  /** Rounds per scenario and target (run.ts); each run here is one round. */
  rounds: number;
  /** Unmeasured token traffic per target before the first scenario (run.ts). */
  initialWarmupSeconds: number;
  warmupSeconds: number;
  connections: number;
  signinConcurrency: number;
}

export interface Target {
  name: 'ours' | 'bare';
  base: string;
  meter: ProcessMeter;
  /** Ours only: the bare provider keeps everything in memory. */
  roundTrips?: RoundTripCounter | undefined;
}

export interface Measurement {
  /** Successful requests (or sign-ins) per second of the timed phase. */
  rate: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
  seconds: number;
  peakRssMiB: number | null;
  /** CPU seconds the server process used in the timed phase (not its database's or Redis'). */
  cpuSeconds: number | null;
  /** SQL statements our server sent in the timed phase (its background polling included);
   * null for bare or when /metrics could not be read. */
  sqlStatements: number | null;
  /** Redis commands run in the timed phase (those inside Lua scripts included); null for bare,
   * without REDIS_URL or when INFO failed. */
  redisCommands: number | null;
  notes: Record<string, number | string>;
}

export interface Scenario {
  id: string;
  title: string;
  unit: 'req/s' | 'sign-ins/s';
  run(target: Target, settings: Settings): Promise<Measurement>;
}

interface CannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: CannonRequest, context: object) => CannonRequest;
  onResponse?: (status: number, body: string) => void;
}

interface CannonResult {
  duration: number;
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number };
}

interface Load {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  requests?: CannonRequest[];
}

const form = { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded' };

function cannon(target: Target, load: Load, connections: number, duration: number): Promise<CannonResult> {
  return autocannon({
    url: new URL(load.path, target.base).href,
    method: load.method,
    headers: load.headers ?? {},
    ...(load.body === undefined ? {} : { body: load.body }),
    ...(load.requests ? { requests: load.requests } : {}),
    connections,
    duration,
    timeout: 10,
  }) as Promise<CannonResult>;
}

const noRoundTrips: RoundTrips = { sqlStatements: null, redisCommands: null, redisEval: null, redisEvalsha: null };

/**
 * Runs the timed phase between the readings: round trips outside, then the meter, so neither
 * the scrape's request nor its CPU counts in the phase.
 */
async function timed<T>(target: Target, phase: () => Promise<T>): Promise<T & ProcessUsage & { roundTrips: RoundTrips }> {
  await target.roundTrips?.start();
  target.meter.start();
  const result = await phase();
  const usage = target.meter.stop();
  const roundTrips = (await target.roundTrips?.stop()) ?? noRoundTrips;
  return { ...result, ...usage, roundTrips };
}

/** What a measurement says about round trips: the counts, and the scripts among Redis' as notes. */
function storage({ sqlStatements, redisCommands, redisEval, redisEvalsha }: RoundTrips): Pick<Measurement, 'sqlStatements' | 'redisCommands' | 'notes'> {
  const notes: Measurement['notes'] = {};
  if (redisEval !== null) notes.redisEval = redisEval;
  if (redisEvalsha !== null) notes.redisEvalsha = redisEvalsha;
  return { sqlStatements, redisCommands, notes };
}

/** Warm-up, then the timed autocannon run with the meter and the round-trip counts on. */
async function measureLoad(target: Target, settings: Settings, load: Load, beforeTimed?: () => void): Promise<Measurement> {
  if (settings.warmupSeconds > 0) await cannon(target, load, settings.connections, settings.warmupSeconds);
  const { result, peakRssMiB, cpuSeconds, roundTrips } = await timed(target, async () => {
    beforeTimed?.();
    return { result: await cannon(target, load, settings.connections, settings.seconds) };
  });
  return {
    rate: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    errors: result.non2xx + result.errors + result.timeouts,
    seconds: result.duration,
    peakRssMiB,
    cpuSeconds,
    ...storage(roundTrips),
  };
}

/** One request before the load: fails the scenario early with the response when it is wrong. */
async function probe(target: Target, load: Load, check: (body: string) => boolean): Promise<void> {
  const response = await fetch(new URL(load.path, target.base), { method: load.method, headers: load.headers ?? {}, ...(load.body === undefined ? {} : { body: load.body }) });
  const body = await response.text();
  if (response.status !== 200 || !check(body)) throw new Error(`${target.name}: ${load.method} ${load.path} answered ${response.status}: ${body.slice(0, 300)}`);
}

const isJwt = (token: unknown) => typeof token === 'string' && token.split('.').length === 3;
const json = (body: string) => JSON.parse(body) as Record<string, unknown>;

function clientCredentials(id: string, title: string, params: Record<string, string>, jwt: boolean): Scenario {
  return {
    id,
    title,
    unit: 'req/s',
    async run(target, settings) {
      const load: Load = { method: 'POST', path: '/token', headers: form, body: new URLSearchParams({ grant_type: 'client_credentials', ...params }).toString() };
      await probe(target, load, (body) => isJwt(json(body).access_token) === jwt);
      return measureLoad(target, settings, load);
    },
  };
}

/**
 * Refresh with rotation. Every request spends a refresh token that was never used: tokens come
 * from a shared pool, seeded by real sign-ins (offline_access, so prompt=consent and the consent
 * page) and refilled by each response's rotated token, so the pool needs only enough tokens for
 * the connections (plus what is in flight when a run stops) whatever the duration.
 */
const refresh: Scenario = {
  id: 'refresh',
  title: 'refresh token, rotated',
  unit: 'req/s',
  async run(target, settings) {
    const seeded = 2 * settings.connections + 4;
    const pool = (await signIns(target.base, seeded, settings.signinConcurrency, { offline: true })).map((result) => result.tokens.refresh_token!);
    let used = 0;
    let exhausted = 0;
    const requests: CannonRequest[] = [{
      setupRequest: (request) => {
        const token = pool.shift();
        if (token) used++;
        else exhausted++;
        // An empty pool sends an unknown token, counted as an error, rather than stopping autocannon.
        return { ...request, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token ?? 'pool-exhausted' }).toString() };
      },
      onResponse: (status, body) => {
        if (status !== 200) return;
        const rotated = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
        if (rotated) pool.push(rotated);
      },
    }];
    const load: Load = { method: 'POST', path: '/token', headers: form, requests };
    const spent = pool.shift()!;
    const first = await tokenRequest(target.base, { grant_type: 'refresh_token', refresh_token: spent });
    if (!first.refresh_token || first.refresh_token === spent) throw new Error(`${target.name}: refresh did not rotate`);
    pool.push(first.refresh_token);
    let usedBefore = used;
    const measurement = await measureLoad(target, settings, load, () => {
      usedBefore = used;
    });
    // Used in the timed phase: its successes plus what was in flight when it stopped.
    measurement.notes = { ...measurement.notes, seededBySignIns: seeded, tokensUsedTimed: used - usedBefore, tokensUsedTotal: used + 1, poolExhausted: exhausted };
    return measurement;
  },
};

/** An opaque access token from a real sign-in (code redeemed without `resource`). */
async function personToken(target: Target): Promise<string> {
  const { tokens } = await signIn(target.base);
  if (isJwt(tokens.access_token)) throw new Error(`${target.name}: expected an opaque access token`);
  return tokens.access_token;
}

const introspection: Scenario = {
  id: 'introspection',
  title: 'introspection, opaque token',
  unit: 'req/s',
  async run(target, settings) {
    const token = await personToken(target);
    const load: Load = { method: 'POST', path: '/token/introspection', headers: form, body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString() };
    await probe(target, load, (body) => json(body).active === true);
    return measureLoad(target, settings, load);
  },
};

const userinfo: Scenario = {
  id: 'userinfo',
  title: 'userinfo, opaque token',
  unit: 'req/s',
  async run(target, settings) {
    const token = await personToken(target);
    const load: Load = { method: 'GET', path: '/me', headers: { authorization: `Bearer ${token}`, accept: 'application/json' } };
    await probe(target, load, (body) => json(body).email === fixtures.email);
    return measureLoad(target, settings, load);
  },
};

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Whole sign-ins, `signinConcurrency` clients each looping until the time is up: every flow is a
 * new browser (no session), the consent was given once before (warm-up), so the flow is
 * GET /auth → login page → POST credentials → code → token exchange.
 */
const signin: Scenario = {
  id: 'signin',
  title: 'sign-in: code + PKCE through the login form',
  unit: 'sign-ins/s',
  async run(target, settings) {
    const loop = async (seconds: number, record: boolean) => {
      const durations: number[] = [];
      let errors = 0;
      let consentPages = 0;
      let lastError = '';
      const started = performance.now();
      const deadline = started + seconds * 1000;
      await Promise.all(Array.from({ length: settings.signinConcurrency }, async () => {
        while (performance.now() < deadline) {
          const flowStarted = performance.now();
          try {
            consentPages += (await signIn(target.base)).consentPages;
            durations.push(performance.now() - flowStarted);
          } catch (error) {
            errors++;
            lastError = (error as Error).message;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      }));
      const elapsed = (performance.now() - started) / 1000;
      if (record && errors) console.error(`  ${target.name} sign-in errors: ${errors}, last: ${lastError}`);
      return { durations, errors, consentPages, elapsed };
    };
    await signIn(target.base); // the consent page, once, if this person never consented
    if (settings.warmupSeconds > 0) await loop(settings.warmupSeconds, false);
    const { durations, errors, consentPages, elapsed, peakRssMiB, cpuSeconds, roundTrips } = await timed(target, () => loop(settings.seconds, true));
    const { notes, ...counts } = storage(roundTrips);
    durations.sort((a, b) => a - b);
    return {
      rate: durations.length / elapsed,
      p50: Math.round(percentile(durations, 50) * 10) / 10,
      p99: Math.round(percentile(durations, 99) * 10) / 10,
      ok: durations.length,
      errors,
      seconds: Math.round(elapsed * 100) / 100,
      peakRssMiB,
      cpuSeconds,
      ...counts,
      notes: { consentPagesTimed: consentPages, ...notes },
    };
  },
};

export const scenarios: Scenario[] = [
  clientCredentials('cc-jwt', 'client credentials, JWT for a resource', { resource: fixtures.api, scope: 'read' }, true),
  clientCredentials('cc-opaque', 'client credentials, opaque', {}, false),
  refresh,
  introspection,
  userinfo,
  signin,
];
