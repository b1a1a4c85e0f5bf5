/** The machine a run happened on, the markdown table and bench/results/latest.json. */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Measurement, Settings } from './scenarios.ts';
import { root } from './processes.ts';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  oidcProvider: string;
  storage: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine skews figures. */
  loadAverageAtStart: number[];
}

export interface Row {
  id: string;
  title: string;
  unit: string;
  ours: Measurement | null;
  bare: Measurement | null;
  /** ours rate / bare rate. */
  ratio: number | null;
  /** bare CPU per request / ours CPU per request (server processes only): the same direction as
   * ratio (1 = as cheap as bare), without the host's CPU steal and the shared cores in it. */
  cpuRatio: number | null;
  /** Ours only: SQL statements and Redis commands per successful request (or sign-in), one
   * timed phase's counts over its successes, so the server's background polling is in them. */
  sqlPerRequest: number | null;
  redisCommandsPerRequest: number | null;
  /** Why a target has no measurement. */
  failures?: Partial<Record<'ours' | 'bare', string>>;
}

/** VmRSS of each server process after a few seconds without traffic; null if not running. */
export interface IdleRss {
  ours: number | null;
  bare: number | null;
}

export interface Report {
  finishedAt: string;
  wallSeconds: number;
  loadAverageAtEnd: number[];
  settings: Settings;
  machine: Machine;
  /** Started and seeded, before any load. */
  idleRssMiB: IdleRss;
  /** After the last scenario. */
  idleRssAfterMiB: IdleRss;
  rows: Row[];
}

export function describeMachine(storage: string): Machine {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  const oidcProvider = (JSON.parse(readFileSync(join(root, 'node_modules/oidc-provider/package.json'), 'utf8')) as { version: string }).version;
  return {
    cpu,
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    kernel: release(),
    node: process.version,
    oidcProvider,
    storage,
    loadAverageAtStart: loadAverage(),
  };
}

export const loadAverage = () => loadavg().map((value) => Math.round(value * 100) / 100);

const rate = (m: Measurement | null) => (m ? (m.rate >= 100 ? m.rate.toFixed(0) : m.rate.toFixed(1)) : '–');
const latency = (m: Measurement | null) => (m ? `${m.p50} / ${m.p99}` : '–');
const rss = (m: Measurement | null) => (m?.peakRssMiB != null ? `${m.peakRssMiB.toFixed(0)} MiB` : '–');
const errors = (m: Measurement | null) => (m ? String(m.errors) : '–');

const cpuSecondsPerOk = (m: Measurement | null): number | null => (m && m.cpuSeconds !== null && m.ok > 0 ? m.cpuSeconds / m.ok : null);

/** Server CPU milliseconds per successful request (or sign-in), or null when unknown. */
export function cpuPerOk(m: Measurement | null): number | null {
  const seconds = cpuSecondsPerOk(m);
  return seconds === null ? null : Number((seconds * 1000).toPrecision(3));
}

/** count / ok, or null when either is unknown or nothing succeeded. */
export function perOk(count: number | null, ok: number): number | null {
  return count === null || ok <= 0 ? null : count / ok;
}

const oneDecimal = (value: number | null) => (value === null ? '–' : value.toFixed(1));

export function cpuRatio(row: Pick<Row, 'ours' | 'bare'>): number | null {
  const ours = cpuSecondsPerOk(row.ours);
  const bare = cpuSecondsPerOk(row.bare);
  return ours && bare ? bare / ours : null;
}

export function markdownTable(rows: Row[]): string {
  const lines = [
    '| scenario | ours req/s | bare req/s | ratio | CPU ms per request, ours / bare | CPU ratio | ours p50/p99 (ms) | bare p50/p99 (ms) | ours peak RSS | bare peak RSS | errors ours/bare | SQL/req | Redis cmds/req |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const title = row.unit === 'req/s' ? row.title : `${row.title} (${row.unit})`;
    lines.push(`| ${title} | ${rate(row.ours)} | ${rate(row.bare)} | ${row.ratio === null ? '–' : row.ratio.toFixed(2)} | ${cpuPerOk(row.ours) ?? '–'} / ${cpuPerOk(row.bare) ?? '–'} | ${row.cpuRatio === null ? '–' : row.cpuRatio.toFixed(2)} | ${latency(row.ours)} | ${latency(row.bare)} | ${rss(row.ours)} | ${rss(row.bare)} | ${errors(row.ours)}/${errors(row.bare)} | ${oneDecimal(row.sqlPerRequest)} | ${oneDecimal(row.redisCommandsPerRequest)} |`);
  }
  return lines.join('\n');
}

export function idleRssLine(before: IdleRss, after: IdleRss, seconds: number): string {
  const mib = (value: number | null) => (value === null ? '–' : `${value.toFixed(0)} MiB`);
  return `Idle RSS (${seconds} s without traffic), before the scenarios / after them: ours ${mib(before.ours)} / ${mib(after.ours)}, bare ${mib(before.bare)} / ${mib(after.bare)}.`;
}

export function machineLine(machine: Machine, settings: Settings): string {
  return `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}, oidc-provider ${machine.oidcProvider}; `
    + `storage: ${machine.storage}; ${settings.seconds} s timed per scenario and target in ${settings.rounds} alternating rounds, each after ${settings.warmupSeconds} s warm-up, `
    + `${settings.connections} connections (sign-ins: ${settings.signinConcurrency} clients)`;
}

/** Writes bench/results/latest.json; returns its path. */
export function writeReport(report: Report): string {
  const directory = join(root, 'bench', 'results');
  mkdirSync(directory, { recursive: true });
  const path = join(directory, 'latest.json');
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
