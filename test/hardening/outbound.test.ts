import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowListEntryProblem, createOutboundFetch, parseAllowList, refusal, type OutboundPolicy } from '../../src/http/outbound.ts';
import { loadConfig, ConfigError } from '../../src/config/load.ts';
import { captureLogs } from '../helpers/app.ts';

// What the provider fetches at a client's request (jwks_uri, sector_identifier_uri) goes only to
// public addresses, the operator's OUTBOUND_ALLOWED_HOSTS, and loopback outside production.

const policy = (entries: string[], allowLoopback = false): OutboundPolicy => ({ allowList: parseAllowList(entries), allowLoopback });

describe('the outbound address policy', () => {
  it('lets public addresses through and stops private, link-local and other special-use ones', () => {
    for (const address of ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c', '8.8.8.8']) expect(refusal(policy([]), 'example.com', address)).toBeNull();
    for (const address of ['10.1.2.3', '172.16.0.9', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1', '192.0.2.2']) {
      expect(refusal(policy([]), 'jwks.corp.example', address), address).toMatch(/private or special-use address; list the host or its network in OUTBOUND_ALLOWED_HOSTS/);
    }
  });

  it('allows a listed network, a listed host and every name under a listed domain', () => {
    const allowed = policy(['10.20.0.0/16', 'fd12::/16', 'keys.internal', '.corp.example']);
    expect(refusal(allowed, 'anything', '10.20.9.9')).toBeNull();
    expect(refusal(allowed, 'anything', '::ffff:10.20.0.1')).toBeNull();
    expect(refusal(allowed, 'anything', 'fd12:3::1')).toBeNull();
    expect(refusal(allowed, 'anything', '10.21.0.1')).not.toBeNull();
    expect(refusal(allowed, 'keys.internal', '10.99.0.1')).toBeNull();
    expect(refusal(allowed, 'KEYS.internal', '10.99.0.1')).toBeNull();
    expect(refusal(allowed, 'other.keys.internal', '10.99.0.1')).not.toBeNull();
    expect(refusal(allowed, 'jwks.corp.example', '192.168.4.4')).toBeNull();
    expect(refusal(allowed, 'corp.example.evil.com', '192.168.4.4')).not.toBeNull();
  });

  it('reaches loopback only outside production, whatever the list says', () => {
    expect(refusal(policy([], true), 'localhost', '127.0.0.1')).toBeNull();
    expect(refusal(policy([], true), 'localhost', '::1')).toBeNull();
    expect(refusal(policy(['127.0.0.0/8', 'localhost']), 'localhost', '127.0.0.1')).toMatch(/loopback address 127\.0\.0\.1, which production never calls/);
  });

  it('refuses allow-list entries it cannot read, and loopback entries in production', () => {
    expect(allowListEntryProblem('10.0.0.0/8', true)).toBeNull();
    expect(allowListEntryProblem('.corp.example', true)).toBeNull();
    expect(allowListEntryProblem('10.0.0.0/33', false)).toMatch(/prefix must be 0-32/);
    expect(allowListEntryProblem('keys.internal/24', false)).toMatch(/only an IP address can have a \/prefix/);
    expect(allowListEntryProblem('http://keys.internal', false)).toMatch(/is a URL; list the host name alone/);
    expect(allowListEntryProblem('127.0.0.1', true)).toMatch(/loopback/);
    expect(allowListEntryProblem('localhost', true)).toMatch(/loopback/);
    expect(allowListEntryProblem('127.0.0.1', false)).toBeNull();
  });

  it('reads OUTBOUND_ALLOWED_HOSTS and OUTBOUND_TIMEOUT_MS, and refuses a bad entry at start-up', () => {
    const config = loadConfig({ OUTBOUND_ALLOWED_HOSTS: '10.0.0.0/8, keys.internal', OUTBOUND_TIMEOUT_MS: '4000' }, '/nonexistent');
    expect(config.outboundAllowedHosts).toEqual(['10.0.0.0/8', 'keys.internal']);
    expect(config.timeouts.outboundMs).toBe(4000);
    expect(() => loadConfig({ OUTBOUND_ALLOWED_HOSTS: '10.0.0.0/40' }, '/nonexistent')).toThrow(ConfigError);
    expect(() => loadConfig({ OUTBOUND_ALLOWED_HOSTS: '10.0.0.0/40' }, '/nonexistent')).toThrow(/OUTBOUND_ALLOWED_HOSTS.*prefix/);
  });
});

/** A non-loopback address of this machine in a special-use range (a container's private address), if any. */
function privateAddress(): string | undefined {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family === 'IPv4' && !entry.internal && refusal(policy([]), entry.address, entry.address)) return entry.address;
    }
  }
  return undefined;
}

async function listen(server: Server, host: string): Promise<string> {
  server.listen(0, host);
  await once(server, 'listening');
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

describe('the outbound fetch over real connections', () => {
  const servers: Server[] = [];
  const inner = privateAddress();
  let loopbackUrl = '';
  let innerUrl = '';
  let hangingUrl = '';

  beforeAll(async () => {
    const keys = createServer((req, res) => {
      if (req.url === '/hop' && inner) {
        res.writeHead(302, { location: `${innerUrl}/jwks` }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    servers.push(keys);
    loopbackUrl = await listen(keys, '127.0.0.1');
    if (inner) {
      const innerServer = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}'));
      servers.push(innerServer);
      innerUrl = await listen(innerServer, inner);
    }
    // Accepts the connection and never answers.
    const hanging = createServer(() => undefined);
    servers.push(hanging);
    hangingUrl = await listen(hanging, '127.0.0.1');
  });
  afterAll(async () => {
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('reaches loopback in development and refuses it in production, logging why', async () => {
    const development = createOutboundFetch({ policy: policy([], true), timeoutMs: 2000, logger: captureLogs().logger });
    expect((await development(`${loopbackUrl}/jwks`)).status).toBe(200);
    await development.close();

    const logs = captureLogs();
    const production = createOutboundFetch({ policy: policy([]), timeoutMs: 2000, logger: logs.logger });
    await expect(production(`${loopbackUrl}/jwks`)).rejects.toThrow();
    expect(logs.lines).toContainEqual(expect.objectContaining({ level: 40, msg: 'outbound request failed', url: `${loopbackUrl}/jwks`, refused: true, reason: expect.stringMatching(/loopback address 127\.0\.0\.1/) }));
    // By name too: localhost resolves to loopback.
    await expect(production(`${loopbackUrl.replace('127.0.0.1', 'localhost')}/jwks`)).rejects.toThrow();
    expect(logs.lines.at(-1)).toMatchObject({ refused: true, reason: expect.stringMatching(/localhost resolves to the loopback address/) });
    await production.close();
  });

  it.skipIf(!inner)('refuses a private address unless its host or network is listed, also after a redirect', async () => {
    const logs = captureLogs();
    const unlisted = createOutboundFetch({ policy: policy([], true), timeoutMs: 2000, logger: logs.logger });
    await expect(unlisted(`${innerUrl}/jwks`)).rejects.toThrow();
    expect(logs.lines.at(-1)).toMatchObject({ refused: true, reason: expect.stringMatching(/private or special-use address/) });
    // A public (here: loopback, allowed) address that redirects inward is caught at the second connection.
    await expect(unlisted(`${loopbackUrl}/hop`)).rejects.toThrow();
    expect(logs.lines.at(-1)).toMatchObject({ refused: true, url: `${loopbackUrl}/hop` });
    await unlisted.close();

    for (const entry of [`${inner}/32`, `${inner!.split('.').slice(0, 3).join('.')}.0/24`, inner!]) {
      const listed = createOutboundFetch({ policy: policy([entry], true), timeoutMs: 2000, logger: captureLogs().logger });
      expect((await listed(`${innerUrl}/jwks`)).status, entry).toBe(200);
      expect((await listed(`${loopbackUrl}/hop`)).status, entry).toBe(200);
      await listed.close();
    }
  });

  it('gives up on a server that never answers at the deadline, and says so', async () => {
    const logs = captureLogs();
    const outbound = createOutboundFetch({ policy: policy([], true), timeoutMs: 300, logger: logs.logger });
    const started = Date.now();
    await expect(outbound(`${hangingUrl}/jwks`)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(logs.lines.at(-1)).toMatchObject({ msg: 'outbound request failed', reason: 'timed out', refused: false });
    await outbound.close();
  });

  it('refuses a body over the size bound, declared or streamed, and one that never ends', async () => {
    const big = createServer((req, res) => {
      if (req.url === '/declared') return void res.writeHead(200, { 'content-length': String(2048) }).end('x'.repeat(2048));
      if (req.url === '/streamed') {
        res.writeHead(200);
        for (let i = 0; i < 8; i++) res.write('y'.repeat(512));
        return void res.end();
      }
      res.writeHead(200);
      res.write('{"keys":['); // and nothing more
    });
    servers.push(big);
    const url = await listen(big, '127.0.0.1');
    const logs = captureLogs();
    const outbound = createOutboundFetch({ policy: policy([], true), timeoutMs: 400, logger: logs.logger, maxBytes: 1024 });
    for (const path of ['/declared', '/streamed']) {
      await expect(outbound(`${url}${path}`)).rejects.toThrow(/larger than 1024 bytes/);
      expect(logs.lines.at(-1)).toMatchObject({ msg: 'outbound request failed', reason: 'the response is larger than 1024 bytes' });
    }
    await expect(outbound(`${url}/endless`)).rejects.toThrow();
    expect(logs.lines.at(-1)).toMatchObject({ msg: 'outbound request failed', reason: 'timed out' });
    expect(await (await outbound(`${loopbackUrl}/jwks`)).json()).toEqual({ keys: [] });
    await outbound.close();
  });

  it('logs an error status from the far end', async () => {
    const logs = captureLogs();
    const outbound = createOutboundFetch({ policy: policy([], true), timeoutMs: 2000, logger: logs.logger });
    const missing = createServer((_req, res) => void res.writeHead(404).end());
    servers.push(missing);
    const url = await listen(missing, '127.0.0.1');
    expect((await outbound(`${url}/jwks`)).status).toBe(404);
    expect(logs.lines.at(-1)).toMatchObject({ level: 40, msg: 'outbound request answered with an error status', status: 404 });
    await outbound.close();
  });
});
