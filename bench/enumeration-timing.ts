/**
 * Does a response's timing tell whether an account exists? Starts the real provider on a fresh
 * embedded database (or DATABASE_URL / REDIS_URL when set) with the limits raised out of the
 * way, then times, for a known and an unknown email, the login form with a wrong password, the
 * registration form and the "forgot password" form: 20 rounds each, alternating which goes
 * first, each on a fresh interaction, timing only the POST. Prints medians and their ratio.
 *
 *   npm run bench:enumeration
 *   BENCH_ROUNDS=50 npm run bench:enumeration
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Browser, readForm } from '../test/helpers/browser.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-'));
const known = 'known.person@bench.test';
const password = 'bench known passphrase';
const redirectUri = 'http://127.0.0.1:9/cb';

const probe = createServer().listen(0, '127.0.0.1');
await once(probe, 'listening');
const port = (probe.address() as { port: number }).port;
probe.close();
const base = `http://127.0.0.1:${port}`;

const lots = '1000000/1h';
const env = {
  ...process.env, REDIS_KEY_PREFIX: `idp-bench:${process.pid}:`, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ISSUER: base,
  LOCKOUT_THRESHOLD: '1000000', LIMIT_LOGIN_FAILURES_PER_ACCOUNT: lots, LIMIT_LOGIN_FAILURES_PER_IP: lots,
  LIMIT_REGISTRATIONS_PER_IP: lots, LIMIT_REGISTRATIONS_PER_EMAIL: lots, LIMIT_RESET_REQUESTS_PER_IP: lots, LIMIT_RESET_REQUESTS_PER_EMAIL: lots,
};

function idp(...args: string[]): void {
  const result = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: root, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`idp ${args.join(' ')}: ${result.stderr}`);
}
idp('user', 'create', '--email', known, '--password', password, '--verified');
idp('client', 'create', '--id', 'bench-web', '--public', '--redirect-uri', redirectUri);

const server = spawn(process.execPath, ['src/main.ts'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
for (let i = 0; ; i++) {
  if (await fetch(`${base}/.well-known/openid-configuration`).then((r) => r.ok, () => false)) break;
  if (i > 200) throw new Error('provider did not start');
  await new Promise((resolve) => setTimeout(resolve, 50));
}

/** A fresh interaction's login page: the browser and the page's forms. */
async function loginPage(): Promise<{ browser: Browser; uid: string; html: string }> {
  const browser = new Browser();
  const auth = new URL(`${base}/auth`);
  auth.search = new URLSearchParams({
    client_id: 'bench-web', response_type: 'code', scope: 'openid email', redirect_uri: redirectUri,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGcSMZ3Ejk', code_challenge_method: 'S256', state: 'bench-state-0001',
  }).toString();
  const page = await browser.navigate(auth.href);
  const uid = /\/interaction\/([^/"]+)\/login"/.exec(page.html)?.[1];
  if (!uid) throw new Error(`no login page: ${page.status}`);
  return { browser, uid, html: page.html };
}

type Scenario = (email: string, round: number) => Promise<number>;

async function timedPost(browser: Browser, url: string, form: Record<string, string>): Promise<number> {
  const started = performance.now();
  const response = await browser.request(url, { form });
  await response.arrayBuffer();
  const elapsed = performance.now() - started;
  if (response.status >= 500) throw new Error(`${url}: ${response.status}`);
  return elapsed;
}

const scenarios: Array<[string, Scenario]> = [
  ['login, wrong password', async (email) => {
    const { browser, html } = await loginPage();
    const form = readForm(html, '/login');
    return timedPost(browser, new URL(form.action, base).href, { ...form.fields, email, password: 'a wrong password 1' });
  }],
  ['registration', async (email, round) => {
    const { browser, uid } = await loginPage();
    const page = await browser.navigate(`${base}/interaction/${uid}/register`);
    const form = readForm(page.html, '/register');
    // The unknown address must be new each round, or it would be known from the second round on.
    const address = email === known ? email : `new-${round}-${process.pid}@bench.test`;
    return timedPost(browser, new URL(form.action, base).href, { ...form.fields, email: address, name: 'Bench', password: 'a registration passphrase' });
  }],
  ['forgot password', async (email) => {
    const { browser, uid } = await loginPage();
    const page = await browser.navigate(`${base}/interaction/${uid}/forgot`);
    const form = readForm(page.html, '/forgot');
    return timedPost(browser, new URL(form.action, base).href, { ...form.fields, email });
  }],
];

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

try {
  console.log(`known vs unknown email, median of ${rounds} POSTs each; storage: ${process.env.DATABASE_URL ? 'postgres' : 'embedded'}, state: ${process.env.REDIS_URL ? 'redis' : 'sql'}`);
  console.log('| form | known (ms) | unknown (ms) | unknown / known |');
  console.log('|---|---|---|---|');
  for (const [title, scenario] of scenarios) {
    await scenario(known, -1); // warm-up: first argon2 use, compiled templates
    const times = { known: [] as number[], unknown: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? (['unknown', 'known'] as const) : (['known', 'unknown'] as const);
      for (const which of order) times[which].push(await scenario(which === 'known' ? known : `nobody-${round}@bench.test`, round));
    }
    const a = median(times.known);
    const b = median(times.unknown);
    console.log(`| ${title} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)} |`);
  }
} finally {
  server.kill('SIGTERM');
  await once(server, 'exit');
  rmSync(dataDir, { recursive: true, force: true });
}
