import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, ConfigError } from '../../src/config/load.ts';

const emptyDir = () => mkdtempSync(join(tmpdir(), 'idp-config-'));

describe('configuration', () => {
  it('has working development defaults', () => {
    const cwd = emptyDir();
    const config = loadConfig({}, cwd);
    expect(config.port).toBe(3000);
    expect(config.issuer).toBe('http://localhost:3000');
    expect(config.dataDir).toBe(join(cwd, 'data'));
    expect(config.databaseUrl).toBeUndefined();
    expect(config.ttl.authorizationCode).toBe(60);
    expect(config.production).toBe(false);
  });

  it('layers defaults, then the file, then the environment', () => {
    const cwd = emptyDir();
    mkdirSync(join(cwd, 'config'));
    writeFileSync(join(cwd, 'config/idp.json'), JSON.stringify({ port: 4000, logLevel: 'warn', ttl: { accessToken: 900 } }));
    const fromFile = loadConfig({}, cwd);
    expect(fromFile).toMatchObject({ port: 4000, logLevel: 'warn', issuer: 'http://localhost:4000' });
    expect(fromFile.ttl).toMatchObject({ accessToken: 900, refreshToken: 14 * 24 * 3600 });
    const fromEnv = loadConfig({ PORT: '5000', TTL_ACCESS_TOKEN: '600', COOKIE_KEYS: `${'a'.repeat(32)}, ${'b'.repeat(32)}` }, cwd);
    expect(fromEnv).toMatchObject({ port: 5000, logLevel: 'warn' });
    expect(fromEnv.ttl.accessToken).toBe(600);
    expect(fromEnv.cookieKeys).toEqual(['a'.repeat(32), 'b'.repeat(32)]);
  });

  it('reads the file named by IDP_CONFIG and fails clearly when it is missing', () => {
    const cwd = emptyDir();
    writeFileSync(join(cwd, 'custom.json'), JSON.stringify({ issuer: 'https://id.example.com' }));
    expect(loadConfig({ IDP_CONFIG: 'custom.json' }, cwd).issuer).toBe('https://id.example.com');
    expect(() => loadConfig({ IDP_CONFIG: 'missing.json' }, cwd)).toThrow(/IDP_CONFIG: file not found/);
  });

  it('stops on an invalid value, naming the key path and the reason', () => {
    const cwd = emptyDir();
    expect(() => loadConfig({ PORT: 'eighty' }, cwd)).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' }, cwd)).toThrow(/port: .*number/i);
    expect(() => loadConfig({ TTL_AUTHORIZATION_CODE: '3600' }, cwd)).toThrow(/ttl\.authorizationCode/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' }, cwd)).toThrow(/databaseUrl: must start with postgres/);
    expect(() => loadConfig({ COOKIE_KEYS: 'short' }, cwd)).toThrow(/cookieKeys\.0: .*32/);
    mkdirSync(join(cwd, 'config'));
    writeFileSync(join(cwd, 'config/idp.json'), JSON.stringify({ prot: 1 }));
    expect(() => loadConfig({}, cwd)).toThrow(/prot/);
    writeFileSync(join(cwd, 'config/idp.json'), '{ not json');
    expect(() => loadConfig({}, cwd)).toThrow(ConfigError);
  });

  it('refuses development defaults in production and says what to set', () => {
    const cwd = emptyDir();
    let message = '';
    try {
      loadConfig({ NODE_ENV: 'production', ISSUER: 'http://id.example.com' }, cwd);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/DATABASE_URL/);
    expect(message).toMatch(/COOKIE_KEYS/);
    expect(message).toMatch(/ISSUER .*https/);
    expect(message).toMatch(/SMTP_URL/);
    const ok = loadConfig({
      NODE_ENV: 'production', ISSUER: 'https://id.example.com', DATABASE_URL: 'postgres://db/idp', COOKIE_KEYS: 'k'.repeat(40), SMTP_URL: 'smtp://mail.internal:587',
    }, cwd);
    expect(ok.production).toBe(true);
    // A loopback http issuer is fine, for a production build tried out locally.
    expect(loadConfig({ NODE_ENV: 'production', ISSUER: 'http://localhost:3000', DATABASE_URL: 'postgres://db/idp', COOKIE_KEYS: 'k'.repeat(40), SMTP_URL: 'smtp://mail.internal' }, cwd).issuer).toBe('http://localhost:3000');
  });
});

describe('upstream identity providers in configuration', () => {
  it('has none unless configured', () => {
    expect(loadConfig({}, emptyDir()).upstreams).toEqual([]);
  });

  it('reads upstreams from the file with defaults per kind', () => {
    const cwd = emptyDir();
    mkdirSync(join(cwd, 'config'));
    writeFileSync(join(cwd, 'config/idp.json'), JSON.stringify({
      upstreams: [
        { id: 'google', kind: 'google', clientId: 'g-id', clientSecret: 'g-secret' },
        { id: 'github', kind: 'github', clientId: 'gh-id', clientSecret: 'gh-secret' },
        { id: 'okta', kind: 'oidc', issuer: 'https://corp.okta.example/', clientId: 'o-id', clientSecret: 'o-secret', displayName: 'Okta', trustEmail: true },
      ],
    }));
    const [google, github, okta] = loadConfig({}, cwd).upstreams;
    expect(google).toMatchObject({ kind: 'google', issuer: 'https://accounts.google.com', scopes: ['openid', 'email', 'profile'], displayName: 'Google', trustEmail: false });
    expect(github).toMatchObject({ kind: 'github', webUrl: 'https://github.com', apiUrl: 'https://api.github.com', scopes: ['read:user', 'user:email'], displayName: 'GitHub' });
    expect(okta).toMatchObject({ kind: 'oidc', issuer: 'https://corp.okta.example', displayName: 'Okta', trustEmail: true });
  });

  it('reads UPSTREAM_<ID>_<FIELD> from the environment and merges it into a file entry with the same id', () => {
    const cwd = emptyDir();
    mkdirSync(join(cwd, 'config'));
    writeFileSync(join(cwd, 'config/idp.json'), JSON.stringify({ upstreams: [{ id: 'corp-sso', kind: 'oidc', issuer: 'https://sso.corp.example', clientId: 'from-file' }] }));
    const config = loadConfig({
      UPSTREAM_CORP_SSO_CLIENT_SECRET: 'from-env',
      UPSTREAM_CORP_SSO_SCOPES: 'openid email groups',
      UPSTREAM_GITHUB_CLIENT_ID: 'gh',
      UPSTREAM_GITHUB_CLIENT_SECRET: 'gh-secret',
      UPSTREAM_GITHUB_WEB_URL: 'https://ghe.corp.example',
      UPSTREAM_GITHUB_API_URL: 'https://ghe.corp.example/api/v3',
    }, cwd);
    expect(config.upstreams.map((upstream) => upstream.id)).toEqual(['corp-sso', 'github']);
    expect(config.upstreams[0]).toMatchObject({ clientId: 'from-file', clientSecret: 'from-env', scopes: ['openid', 'email', 'groups'] });
    expect(config.upstreams[1]).toMatchObject({ kind: 'github', webUrl: 'https://ghe.corp.example', apiUrl: 'https://ghe.corp.example/api/v3' });
  });

  it('rejects incomplete or unsafe upstreams with the key path', () => {
    const cwd = emptyDir();
    expect(() => loadConfig({ UPSTREAM_GOOGLE_CLIENT_ID: 'g' }, cwd)).toThrow(/upstreams\.0\.clientSecret/);
    expect(() => loadConfig({ UPSTREAM_CORP_CLIENT_ID: 'c', UPSTREAM_CORP_CLIENT_SECRET: 's' }, cwd)).toThrow(/upstreams\.0\.kind: kind must be google, github or oidc/);
    const corp = { UPSTREAM_CORP_KIND: 'oidc', UPSTREAM_CORP_CLIENT_ID: 'c', UPSTREAM_CORP_CLIENT_SECRET: 's' };
    expect(() => loadConfig(corp, cwd)).toThrow(/upstreams\.0\.issuer/);
    expect(() => loadConfig({ ...corp, UPSTREAM_CORP_ISSUER: 'http://sso.corp.example' }, cwd)).toThrow(/issuer: must be an https URL/);
    expect(loadConfig({ ...corp, UPSTREAM_CORP_ISSUER: 'http://127.0.0.1:8080' }, cwd).upstreams[0]).toMatchObject({ issuer: 'http://127.0.0.1:8080' });
    expect(() => loadConfig({ ...corp, UPSTREAM_CORP_ISSUER: 'https://sso.corp.example', UPSTREAM_CORP_SCOPES: 'email profile' }, cwd)).toThrow(/scopes must include openid/);
    expect(() => loadConfig({ ...corp, UPSTREAM_CORP_ISSUER: 'https://sso.corp.example', UPSTREAM_CORP_TRUST_EMAIL: 'maybe' }, cwd)).toThrow(/trustEmail/);
    mkdirSync(join(cwd, 'config'));
    writeFileSync(join(cwd, 'config/idp.json'), JSON.stringify({ upstreams: [
      { id: 'google', kind: 'google', clientId: 'a', clientSecret: 'b' },
      { id: 'google', kind: 'google', clientId: 'c', clientSecret: 'd' },
    ] }));
    expect(() => loadConfig({}, cwd)).toThrow(/upstreams\.1\.id: duplicate upstream id google/);
    writeFileSync(join(cwd, 'config/idp.json'), JSON.stringify({ upstreams: [{ id: 'Bad Id', kind: 'google', clientId: 'a', clientSecret: 'b' }] }));
    expect(() => loadConfig({}, cwd)).toThrow(/upstreams\.0\.id/);
  });
});

describe('self-service and abuse-protection settings', () => {
  it('defaults to Keycloak-like lockout and ASVS limits', () => {
    const config = loadConfig({}, emptyDir());
    expect(config.lockout).toEqual({ threshold: 30, stepSeconds: 60, maxSeconds: 900, resetSeconds: 43_200 });
    expect(config.limits.loginFailuresPerAccount).toEqual({ points: 100, durationSeconds: 3600 });
    expect(config.registration.enabled).toBe(true);
    expect(config.requireVerifiedEmail).toBe(false);
    expect(config.ttl).toMatchObject({ emailVerification: 86_400, passwordReset: 1800 });
  });

  it('reads limits as N/duration from the environment', () => {
    const config = loadConfig({ LIMIT_REGISTRATIONS_PER_IP: '5/15m', LIMIT_LOGIN_FAILURES_PER_IP: '1000/1d', LOCKOUT_THRESHOLD: '5', REGISTRATION_ENABLED: 'false', PASSWORD_MIN_LENGTH: '12' }, emptyDir());
    expect(config.limits.registrationsPerIp).toEqual({ points: 5, durationSeconds: 900 });
    expect(config.limits.loginFailuresPerIp).toEqual({ points: 1000, durationSeconds: 86_400 });
    expect(config).toMatchObject({ lockout: { threshold: 5 }, registration: { enabled: false }, passwordMinLength: 12 });
    expect(() => loadConfig({ LIMIT_REGISTRATIONS_PER_IP: 'lots' }, emptyDir())).toThrow(/limits\.registrationsPerIp/);
    expect(() => loadConfig({ PASSWORD_MIN_LENGTH: '6' }, emptyDir())).toThrow(/passwordMinLength/);
    expect(() => loadConfig({ SMTP_URL: 'http://mail' }, emptyDir())).toThrow(/mail\.smtpUrl/);
  });
});

describe('config/idp.example.json', () => {
  it('is a valid configuration with every documented key', () => {
    const example = fileURLToPath(new URL('../../config/idp.example.json', import.meta.url));
    const config = loadConfig({ IDP_CONFIG: example }, emptyDir());
    expect(config.upstreams.map((upstream) => upstream.kind)).toEqual(['google', 'github', 'oidc']);
  });
});

describe('REDIS_URL in configuration', () => {
  it('keeps 10,000 records in the record cache unless REDIS_CACHE_ENTRIES says otherwise (0: off)', () => {
    expect(loadConfig({}, emptyDir()).redisCacheEntries).toBe(10_000);
    expect(loadConfig({ REDIS_CACHE_ENTRIES: '0' }, emptyDir()).redisCacheEntries).toBe(0);
    expect(() => loadConfig({ REDIS_CACHE_ENTRIES: '-1' }, emptyDir())).toThrow(/redisCacheEntries/);
    expect(() => loadConfig({ REDIS_CACHE_ENTRIES: 'lots' }, emptyDir())).toThrow(ConfigError);
  });

  it('accepts standalone, Sentinel and Cluster URLs', () => {
    for (const url of [
      'redis://127.0.0.1:6379',
      'rediss://:secret@cache.example:6380/1',
      'redis+sentinel://:secret@10.0.0.1:26379,10.0.0.2:26379/mymaster?db=2',
      'redis+cluster://:secret@127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002',
    ]) {
      expect(loadConfig({ REDIS_URL: url }, emptyDir()).redisUrl).toBe(url);
    }
  });

  it('names the accepted forms, or what is wrong with a Sentinel or Cluster URL, without the password', () => {
    const cwd = emptyDir();
    const messageOf = (url: string): string => {
      try {
        loadConfig({ REDIS_URL: url }, cwd);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error(`${url} was accepted`);
    };
    const forms = messageOf('memcached://cache');
    expect(forms).toMatch(/redisUrl: must be redis:\/\/… or rediss:\/\/… \(standalone\)/);
    expect(forms).toMatch(/redis\+sentinel:\/\/\[\[user\]:password@\]host\[:26379\]\[,host:port…\]\/masterName\[\?db=N&sentinelPassword=…\] \(Sentinel\)/);
    expect(forms).toMatch(/redis\+cluster:\/\/\[\[user\]:password@\]host\[:6379\]\[,host:port…\] \(Cluster\)/);
    const sentinel = messageOf('redis+sentinel://:hunter2@10.0.0.1:26379');
    expect(sentinel).toMatch(/redisUrl: redis\+sentinel:\/\/ needs the master name/);
    expect(sentinel).not.toContain('hunter2');
    expect(messageOf('redis+cluster://:hunter2@127.0.0.1:7000/3')).toMatch(/redisUrl: redis\+cluster:\/\/ takes no path: a cluster has only database 0/);
  });
});
