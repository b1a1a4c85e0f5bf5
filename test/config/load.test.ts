import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    const ok = loadConfig({
      NODE_ENV: 'production', ISSUER: 'https://id.example.com', DATABASE_URL: 'postgres://db/idp', COOKIE_KEYS: 'k'.repeat(40),
    }, cwd);
    expect(ok.production).toBe(true);
    // A loopback http issuer is fine, for a production build tried out locally.
    expect(loadConfig({ NODE_ENV: 'production', ISSUER: 'http://localhost:3000', DATABASE_URL: 'postgres://db/idp', COOKIE_KEYS: 'k'.repeat(40) }, cwd).issuer).toBe('http://localhost:3000');
  });
});
