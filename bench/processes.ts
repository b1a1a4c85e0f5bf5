/**
 * Child processes for the benchmark: the servers under test and CLI calls, each remembered so
 * that nothing outlives the run (normal end, error, Ctrl-C or SIGTERM), plus the RSS and CPU
 * readings from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../', import.meta.url));

const children = new Set<ChildProcess>();
const directories = new Set<string>();
const finalizers: Array<() => Promise<void>> = [];

/** Removed on exit, whatever the reason. */
export function removeOnExit(directory: string): void {
  directories.add(directory);
}

/** Runs (once, in reverse order of registration) when the run ends, after the children are gone. */
export function onCleanup(finalizer: () => Promise<void>): void {
  finalizers.push(finalizer);
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

async function stopChild(child: ChildProcess): Promise<void> {
  if (!alive(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

let cleaning: Promise<void> | null = null;
/** Stops every child (SIGTERM, then SIGKILL after 5 s), runs the finalizers, removes directories. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...children].map(stopChild));
    for (const finalizer of finalizers.reverse()) {
      try {
        await finalizer();
      } catch (error) {
        console.error('bench: cleanup step failed:', (error as Error).message);
      }
    }
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
    directories.clear();
  })();
  return cleaning;
}

// Last resort when the process goes down without cleanup(): no async work is possible here.
process.on('exit', () => {
  for (const child of children) if (alive(child)) child.kill('SIGKILL');
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});
let signalled = false;
/** True once SIGINT or SIGTERM arrived: the run stops and writes no results. */
export const interrupted = () => signalled;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    signalled = true;
    console.error(`\nbench: ${signal}, stopping the servers`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** A child whose output is kept (last lines) for error messages, not printed. */
export interface Managed {
  child: ChildProcess;
  pid: number;
  output(): string;
  /** Lines the process printed since it started. */
  lines(): number;
}

/** `ignore`: output lines that are expected and not worth showing (not kept, not counted). */
export function startNode(script: string, args: string[], env: NodeJS.ProcessEnv, ignore?: RegExp, nodeFlags: string[] = []): Managed {
  const child = spawn(process.execPath, [...nodeFlags, script, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const tail: string[] = [];
  let count = 0;
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line || ignore?.test(line)) continue;
      count++;
      tail.push(line);
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  if (child.pid === undefined) throw new Error(`could not start ${script}`);
  return { child, pid: child.pid, output: () => tail.join('\n'), lines: () => count };
}

/** Runs `node script args…` to completion; rejects with its output when it fails. */
export async function runNode(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const managed = startNode(script, args, env);
  const [code] = (await once(managed.child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${script} ${args.join(' ')} exited with ${code}:\n${managed.output()}`);
  return managed.output();
}

/** Resolves once `url` answers 200; rejects if the process exits first or after `timeoutMs`. */
export async function waitReady(managed: Managed, url: string, name: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive(managed.child)) throw new Error(`${name} exited during start-up:\n${managed.output()}`);
    if (await fetch(url).then((response) => response.ok, () => false)) return;
    if (Date.now() > deadline) throw new Error(`${name} did not answer ${url} within ${timeoutMs / 1000} s:\n${managed.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

const mebibytes = (kib: number) => Math.round(kib / 102.4) / 10;

/** The resident memory of a process right now (VmRSS), or null where /proc cannot tell. */
export function residentMiB(pid: number): number | null {
  const rss = statusKiB(pid, 'VmRSS');
  return rss === null ? null : mebibytes(rss);
}

// utime and stime count clock ticks of USER_HZ, which is 100 on every Linux build.
const CLOCK_TICKS = 100;

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat), or null. */
function cpuSeconds(pid: number): number | null {
  try {
    // The command name (field 2) may hold spaces; the fields after its closing ")" do not.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
export interface ProcessUsage {
  peakRssMiB: number | null;
  /** CPU seconds (user + system) the process used during the phase: unlike a rate, what the
   * host steals from the VM does not count here, so it is the steadier figure on shared cores. */
  cpuSeconds: number | null;
}

/**
 * What a process used during a phase: peak resident memory (resets the kernel's high-water
 * mark by writing 5 to /proc/<pid>/clear_refs when allowed, samples VmRSS every 250 ms, and
 * reports the larger of the sampled maximum and VmHWM at the end) and CPU time. Nulls where
 * /proc is unavailable.
 */
export class ProcessMeter {
  private readonly pid: number;
  private timer: NodeJS.Timeout | null = null;
  private maxKiB = 0;
  private hwmReset = false;
  private cpuAtStart: number | null = null;

  constructor(pid: number) {
    this.pid = pid;
  }

  start(): void {
    this.maxKiB = 0;
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      this.hwmReset = true;
    } catch {
      this.hwmReset = false;
    }
    const sample = () => {
      const rss = statusKiB(this.pid, 'VmRSS');
      if (rss !== null && rss > this.maxKiB) this.maxKiB = rss;
    };
    sample();
    this.timer = setInterval(sample, 250);
    this.cpuAtStart = cpuSeconds(this.pid);
  }

  stop(): ProcessUsage {
    const cpuAtEnd = cpuSeconds(this.pid);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const rss = statusKiB(this.pid, 'VmRSS');
    let peak = Math.max(this.maxKiB, rss ?? 0);
    if (this.hwmReset) peak = Math.max(peak, statusKiB(this.pid, 'VmHWM') ?? 0);
    return {
      peakRssMiB: peak > 0 ? mebibytes(peak) : null,
      cpuSeconds: cpuAtEnd !== null && this.cpuAtStart !== null ? cpuAtEnd - this.cpuAtStart : null,
    };
  }
}

/**
 * What `npm start` gives src/main.ts (package.json's start script, `[VAR=value ...] node <flags>
 * src/main.ts`): its environment assignments and node flags, so ours runs here exactly as an
 * operator's `npm start` does.
 */
export function startCommand(): { env: Record<string, string>; flags: string[] } {
  const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const words = scripts.start.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
    const assignment = words.shift()!;
    const equals = assignment.indexOf('=');
    env[assignment.slice(0, equals)] = assignment.slice(equals + 1);
  }
  if (words[0] !== 'node' || words.at(-1) !== 'src/main.ts') throw new Error(`package.json's start script is not "[VAR=value ...] node [flags] src/main.ts": ${scripts.start}`);
  return { env, flags: words.slice(1, -1) };
}
