/**
 * `npm run bench`: our provider against a bare oidc-provider, scenario by scenario, on loopback.
 *
 * Starts both as child processes: ours (`node src/main.ts`) on a fresh embedded database in a
 * temporary directory, or, with DATABASE_URL, on a fresh PostgreSQL database created on that
 * server for this run and dropped afterwards (REDIS_URL: provider state in Redis under a
 * per-run key prefix, deleted afterwards); the bare one is bench/bare-provider.ts. Seeds ours
 * through the CLI, reads each server's idle RSS, runs each scenario (bench/scenarios.ts) against
 * ours then bare, counting our SQL statements and Redis commands (bench/round-trips.ts), reads
 * the idle RSS once more, prints a markdown table and writes bench/results/latest.json.
 *
 *   npm run bench
 *   BENCH_SECONDS=10 BENCH_SCENARIOS=cc-jwt,refresh npm run bench
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 npm run bench
 *
 * Settings: BENCH_SECONDS (6) timed per scenario and target, split into BENCH_ROUNDS (3) rounds
 * that alternate which target goes first, each after BENCH_WARMUP_SECONDS (1) of warm-up,
 * after BENCH_INITIAL_WARMUP_SECONDS (4) of token traffic per target once at the start,
 * BENCH_CONNECTIONS (16, autocannon), BENCH_SIGNIN_CONCURRENCY (4, sign-in clients),
 * BENCH_SCENARIOS (comma-separated ids, default all), BENCH_TARGETS (ours,bare), BENCH_NODE_FLAGS
 * (extra node flags for both servers, space-separated: `--cpu-prof --cpu-prof-dir=DIR` profiles
 * them under load, which NODE_OPTIONS does not allow).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { fixtures } from './fixtures.ts';
import { startCommand, cleanup, freePort, interrupted, onCleanup, removeOnExit, residentMiB, root, ProcessMeter, runNode, startNode, waitReady, type Managed } from './processes.ts';
import { RedisCommandStats, storageRoundTrips } from './round-trips.ts';
import { scenarios, type Measurement, type Settings, type Target } from './scenarios.ts';
import { cpuPerOk, cpuRatio, describeMachine, idleRssLine, loadAverage, machineLine, markdownTable, perOk, writeReport, type IdleRss, type Row } from './report.ts';

const started = performance.now();

function positive(name: string, fallback: number, integer = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value >= 0) || (integer && !Number.isInteger(value))) throw new Error(`${name} must be a ${integer ? 'whole ' : ''}number ≥ 0, got ${raw}`);
  return value;
}

function list(name: string, allowed: string[]): string[] {
  const raw = process.env[name];
  if (!raw) return allowed;
  const chosen = raw.split(',').map((part) => part.trim()).filter(Boolean);
  const unknown = chosen.filter((id) => !allowed.includes(id));
  if (unknown.length) throw new Error(`${name}: unknown ${unknown.join(', ')} (choose from ${allowed.join(', ')})`);
  return chosen;
}

function readSettings() {
  try {
    const settings: Settings = {
      seconds: positive('BENCH_SECONDS', 6),
      rounds: Math.max(1, positive('BENCH_ROUNDS', 3, true)),
      warmupSeconds: positive('BENCH_WARMUP_SECONDS', 1),
      initialWarmupSeconds: positive('BENCH_INITIAL_WARMUP_SECONDS', 4),
      connections: Math.max(1, positive('BENCH_CONNECTIONS', 16, true)),
      signinConcurrency: Math.max(1, positive('BENCH_SIGNIN_CONCURRENCY', 4, true)),
    };
    const chosenScenarios = list('BENCH_SCENARIOS', scenarios.map((scenario) => scenario.id));
    const chosenTargets = list('BENCH_TARGETS', ['ours', 'bare']) as Array<Target['name']>;
    return { settings, chosenScenarios, chosenTargets };
  } catch (error) {
    // A mistyped variable is the user's to fix: one line, no stack trace, nothing started.
    console.error(`bench: ${(error as Error).message}`);
    process.exit(2);
  }
}
const { settings, chosenScenarios, chosenTargets } = readSettings();
const extraNodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);

/** Where ours keeps its data: a fresh database, created here and removed at the end. */
async function prepareStorage(dataDir: string): Promise<{ env: NodeJS.ProcessEnv; storage: string }> {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  const redisKeyPrefix = `idp-bench:${process.pid}:${randomBytes(3).toString('hex')}:`;
  const env: NodeJS.ProcessEnv = { DATA_DIR: dataDir, REDIS_KEY_PREFIX: redisKeyPrefix };
  let storage = 'embedded PGlite';

  if (databaseUrl) {
    const name = `idp_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ server_version: string }>('SHOW server_version');
      await admin.query(`CREATE DATABASE ${name}`);
      storage = `PostgreSQL ${rows[0]?.server_version ?? '?'}`;
    } finally {
      await admin.end();
    }
    onCleanup(async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    });
    const url = new URL(databaseUrl);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.href;
  }

  if (redisUrl) {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
    try {
      const info = await redis.info('server');
      storage += `, Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'} for provider state`;
    } finally {
      redis.disconnect();
    }
    onCleanup(async () => {
      const client = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${redisKeyPrefix}*`, 'COUNT', 1000);
          if (keys.length) await client.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        client.disconnect();
      }
    });
    env.REDIS_URL = redisUrl;
  } else {
    storage += databaseUrl ? ', provider state in SQL' : ', provider state in its SQLite file';
  }
  return { env, storage };
}

async function startOurs(storageEnv: NodeJS.ProcessEnv): Promise<{ managed: Managed; base: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const lots = '1000000/1h';
  const { NODE_ENV: _nodeEnv, DATABASE_URL: _databaseUrl, REDIS_URL: _redisUrl, METRICS_PORT: _metricsPort, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...inherited, ...storageEnv, PORT: String(port), HOST: '127.0.0.1', ISSUER: base, LOG_LEVEL: 'warn',
    // Its own metrics on the main port are where the SQL statements are counted (round-trips.ts).
    METRICS_ENABLED: 'true',
    // Every sign-in here succeeds, so no limit should bite; raised anyway so none can skew a run.
    LOCKOUT_THRESHOLD: '1000000', LIMIT_LOGIN_FAILURES_PER_ACCOUNT: lots, LIMIT_LOGIN_FAILURES_PER_IP: lots,
  };
  // With the environment and node flags of `npm start` (allocator and V8 heap settings).
  const start = startCommand();
  const managed = startNode('src/main.ts', [], { ...env, ...start.env }, undefined, [...start.flags, ...extraNodeFlags]);
  await waitReady(managed, `${base}/.well-known/openid-configuration`, 'our provider');
  // Seeded through the CLI while the server runs (on the embedded database the CLI goes
  // through the server's socket): the client, the API, the person; then the API grant.
  const cli = (...args: string[]) => runNode('src/cli/main.ts', args, env);
  await Promise.all([
    cli('client', 'create', '--id', fixtures.clientId, '--secret', fixtures.clientSecret, '--grant-types', 'client_credentials,authorization_code,refresh_token', '--redirect-uri', fixtures.redirectUri, '--name', 'Bench'),
    cli('resource', 'create', '--indicator', fixtures.api, '--scopes', fixtures.apiScopes),
    cli('user', 'create', '--email', fixtures.email, '--password', fixtures.password, '--name', fixtures.name, '--verified'),
  ]);
  await cli('resource', 'grant', '--client', fixtures.clientId, '--indicator', fixtures.api, '--scopes', 'read');
  return { managed, base };
}

async function startBare(): Promise<{ managed: Managed; base: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { NODE_ENV: _nodeEnv, ...inherited } = process.env;
  // Its default in-memory adapter is the point here; its warning about that is not news.
  const managed = startNode('bench/bare-provider.ts', [], { ...inherited, PORT: String(port) }, /development-only in-memory adapter/, extraNodeFlags);
  await waitReady(managed, `${base}/.well-known/openid-configuration`, 'bare oidc-provider');
  return { managed, base };
}

/**
 * One measurement from a target's rounds: the rate over all timed seconds, errors, peak RSS, CPU
 * and round trips over all (a sum is unknown when any round's is); p50 as the rounds' mean
 * weighted by requests, p99 as the worst round's (percentiles of separate runs cannot be merged
 * exactly; this errs on the slow side).
 */
function combineRounds(measurements: Measurement[]): Measurement {
  const ok = measurements.reduce((sum, m) => sum + m.ok, 0);
  const seconds = measurements.reduce((sum, m) => sum + m.seconds, 0);
  const rss = measurements.map((m) => m.peakRssMiB).filter((value): value is number => value !== null);
  const cpu = measurements.map((m) => m.cpuSeconds);
  const sum = (values: Array<number | null>) => (values.every((value) => value !== null) ? values.reduce((total: number, value) => total + value!, 0) : null);
  const notes: Record<string, number | string> = {};
  for (const m of measurements) {
    for (const [key, value] of Object.entries(m.notes)) notes[key] = typeof value === 'number' && typeof notes[key] === 'number' ? notes[key] + value : value;
  }
  return {
    rate: seconds > 0 ? ok / seconds : 0,
    p50: Math.round(10 * measurements.reduce((sum, m) => sum + m.p50 * m.ok, 0) / Math.max(ok, 1)) / 10,
    p99: Math.max(...measurements.map((m) => m.p99)),
    ok,
    errors: measurements.reduce((sum, m) => sum + m.errors, 0),
    seconds,
    peakRssMiB: rss.length ? Math.max(...rss) : null,
    cpuSeconds: sum(cpu),
    sqlStatements: sum(measurements.map((m) => m.sqlStatements)),
    redisCommands: sum(measurements.map((m) => m.redisCommands)),
    notes,
  };
}

function fmt(m: Measurement, unit: string, target: Target['name']): string {
  const per = unit === 'req/s' ? 'request' : 'sign-in';
  const sql = perOk(m.sqlStatements, m.ok);
  const redis = perOk(m.redisCommands, m.ok);
  const trips = target === 'ours' ? `, ${sql === null ? '?' : sql.toFixed(1)} SQL${redis === null ? '' : ` and ${redis.toFixed(1)} Redis commands`} per ${per}` : '';
  return `${m.rate.toFixed(m.rate >= 100 ? 0 : 1)} ${unit}, p50 ${m.p50} ms, p99 ${m.p99} ms, ${m.errors} errors, peak RSS ${m.peakRssMiB ?? '?'} MiB, CPU ${cpuPerOk(m) ?? '?'} ms per ${per}${trips}${Object.keys(m.notes).length ? ` ${JSON.stringify(m.notes)}` : ''}`;
}

/** How long the servers sit without traffic before their idle RSS is read. */
const IDLE_SECONDS = 3;
const pause = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** VmRSS of each server process now; null for a target not started (or gone). */
function idleRss(pids: Partial<Record<Target['name'], number>>): IdleRss {
  const read = (pid: number | undefined) => (pid === undefined ? null : residentMiB(pid));
  return { ours: read(pids.ours), bare: read(pids.bare) };
}

let exitCode = 0;
// A server that stops answering must not hold the run forever: autocannon and the sign-in loop
// are bounded by time, but a single fetch is not.
const budgetSeconds = 120 + 2 * IDLE_SECONDS + 2 * settings.initialWarmupSeconds + chosenScenarios.length * chosenTargets.length * (settings.seconds + settings.rounds * (settings.warmupSeconds + 30));
const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${budgetSeconds} s, giving up`);
  void cleanup().finally(() => process.exit(1));
}, budgetSeconds * 1000);
watchdog.unref();

try {
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-'));
  removeOnExit(dataDir);
  const { env: storageEnv, storage } = await prepareStorage(dataDir);
  const machine = describeMachine(storage);
  console.log(`bench: ${machineLine(machine, settings)}`);
  if (machine.loadAverageAtStart[0]! > 0.5) console.log(`bench: load average ${machine.loadAverageAtStart.join(' ')} before starting: other work on this machine will skew the figures`);

  const [ours, bare] = await Promise.all([
    chosenTargets.includes('ours') ? startOurs(storageEnv) : null,
    chosenTargets.includes('bare') ? startBare() : null,
  ]);
  // Nothing else uses this Redis during a run, so its command counts are ours.
  const redisStats = ours && process.env.REDIS_URL ? new RedisCommandStats(process.env.REDIS_URL) : null;
  if (redisStats) onCleanup(async () => redisStats.close());
  const targets: Target[] = [];
  if (ours) targets.push({ name: 'ours', base: ours.base, meter: new ProcessMeter(ours.managed.pid), roundTrips: storageRoundTrips(ours.base, redisStats) });
  if (bare) targets.push({ name: 'bare', base: bare.base, meter: new ProcessMeter(bare.managed.pid) });
  const pids = { ours: ours?.managed.pid, bare: bare?.managed.pid };
  console.log(`bench: targets ready after ${((performance.now() - started) / 1000).toFixed(1)} s`);

  // Started and seeded, before any load: what each server holds for doing nothing.
  await pause(IDLE_SECONDS);
  const idleRssMiB = idleRss(pids);
  console.log(`bench: idle RSS ours ${idleRssMiB.ours ?? '–'} MiB, bare ${idleRssMiB.bare ?? '–'} MiB`);

  // A freshly started server runs its code cold (V8 compiles the hot paths only after some
  // traffic; ours has more code to warm than the bare one). Before any measurement each target
  // gets unmeasured token traffic, so the first scenario is not also a JIT warm-up.
  if (settings.initialWarmupSeconds > 0) {
    const warmups = scenarios.filter((scenario) => scenario.id === 'cc-jwt' || scenario.id === 'cc-opaque');
    for (const target of targets) {
      for (const scenario of warmups) await scenario.run(target, { ...settings, warmupSeconds: 0, seconds: settings.initialWarmupSeconds / warmups.length });
    }
    console.log(`bench: servers warmed up (${settings.initialWarmupSeconds} s of token requests each, not measured)`);
  }

  const rows: Row[] = [];
  for (const scenario of scenarios.filter((candidate) => chosenScenarios.includes(candidate.id))) {
    const row: Row = { id: scenario.id, title: scenario.title, unit: scenario.unit, ours: null, bare: null, ratio: null, cpuRatio: null, sqlPerRequest: null, redisCommandsPerRequest: null };
    // The timed seconds are split into rounds that alternate which target goes first (ours,
    // bare; bare, ours; ...), so a machine that speeds up or slows down during the run (shared
    // cores) weighs on both sides alike instead of skewing the ratio.
    const rounds: Record<Target['name'], Measurement[]> = { ours: [], bare: [] };
    const failed = new Set<Target['name']>();
    for (let round = 0; round < settings.rounds; round++) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        if (interrupted()) throw new Error('interrupted');
        if (failed.has(target.name)) continue;
        try {
          const measurement = await scenario.run(target, { ...settings, seconds: settings.seconds / settings.rounds });
          if (interrupted()) throw new Error('interrupted');
          rounds[target.name].push(measurement);
          console.log(`  ${scenario.id.padEnd(13)} ${target.name} (round ${round + 1}/${settings.rounds}): ${fmt(measurement, scenario.unit, target.name)}`);
        } catch (error) {
          if (interrupted()) throw new Error('interrupted');
          // One broken scenario should not hide the others' figures; the run still fails at the end.
          exitCode = 1;
          failed.add(target.name);
          target.meter.stop();
          row.failures = { ...row.failures, [target.name]: (error as Error).message };
          console.error(`  ${scenario.id.padEnd(13)} ${target.name}: FAILED: ${(error as Error).message}`);
        }
      }
    }
    for (const target of targets) {
      if (!failed.has(target.name) && rounds[target.name].length) row[target.name] = combineRounds(rounds[target.name]);
    }
    if (row.ours && row.bare && row.bare.rate > 0) row.ratio = row.ours.rate / row.bare.rate;
    row.cpuRatio = cpuRatio(row);
    if (row.ours) {
      row.sqlPerRequest = perOk(row.ours.sqlStatements, row.ours.ok);
      row.redisCommandsPerRequest = perOk(row.ours.redisCommands, row.ours.ok);
    }
    rows.push(row);
  }

  // What stays resident once the load is over: caches, pools and heap the scenarios grew.
  if (interrupted()) throw new Error('interrupted');
  await pause(IDLE_SECONDS);
  const idleRssAfterMiB = idleRss(pids);
  console.log(`bench: idle RSS after the scenarios ours ${idleRssAfterMiB.ours ?? '–'} MiB, bare ${idleRssAfterMiB.bare ?? '–'} MiB`);

  for (const [name, target] of [['ours', ours], ['bare', bare]] as const) {
    if (target && target.managed.lines() > 0) console.log(`\n${name} printed ${target.managed.lines()} lines; the last ones:\n${target.managed.output().split('\n').slice(-5).join('\n')}`);
  }

  const wallSeconds = Math.round((performance.now() - started) / 100) / 10;
  const path = writeReport({ finishedAt: new Date().toISOString(), wallSeconds, loadAverageAtEnd: loadAverage(), settings, machine, idleRssMiB, idleRssAfterMiB, rows });
  console.log(`\n${markdownTable(rows)}\n\n${idleRssLine(idleRssMiB, idleRssAfterMiB, IDLE_SECONDS)}\n\n${machineLine(machine, settings)}`);
  console.log(`load average at start ${machine.loadAverageAtStart.join(' ')}, at end ${loadAverage().join(' ')}`);
  console.log(`\nwrote ${relative(root, path)}; ${wallSeconds} s so far`);
} catch (error) {
  if (!interrupted()) console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : error);
  exitCode = 1;
} finally {
  await cleanup();
  console.log(`bench: done in ${((performance.now() - started) / 1000).toFixed(1)} s (servers stopped, temporary data removed)`);
}
process.exit(exitCode);
