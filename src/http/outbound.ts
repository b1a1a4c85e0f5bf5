import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import type { Agent } from 'undici';
import type { Logger } from '../log.ts';

/**
 * Requests this provider makes to addresses a client chose (a client's `jwks_uri`, its
 * `sector_identifier_uri`, later its back-channel logout endpoint) must not become a way into the
 * operator's own network (server-side request forgery). Public internet addresses are always
 * reachable; private, link-local and other special-use addresses only when the operator lists
 * the host or its network in OUTBOUND_ALLOWED_HOSTS; loopback only outside production.
 *
 * The check runs when a connection is opened, on the addresses DNS actually returned, so a name
 * that resolves somewhere else later (DNS rebinding) or a redirect to an inner address is caught
 * too; oidc-provider's own guard (the dispatcher it hands to `fetch`) is replaced by this one.
 */

// IANA special-use ranges (RFC 6890 and its registries) that are not the public internet.
const SPECIAL_USE_V4: Array<[string, number]> = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
];
const SPECIAL_USE_V6: Array<[string, number]> = [
  ['::', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
];
const LOOPBACK_V4: [string, number] = ['127.0.0.0', 8];
const LOOPBACK_V6: [string, number] = ['::1', 128];

const family = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

function blockListOf(v4: Array<[string, number]>, v6: Array<[string, number]>): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of v4) list.addSubnet(network, prefix, 'ipv4');
  for (const [network, prefix] of v6) list.addSubnet(network, prefix, 'ipv6');
  return list;
}

const specialUse = blockListOf(SPECIAL_USE_V4, SPECIAL_USE_V6);
const loopback = blockListOf([LOOPBACK_V4], [LOOPBACK_V6]);

/** An IPv4 address written as IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it is. */
function unmapped(address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match ? match[1]! : address;
}

export interface OutboundAllowList {
  /** Host names allowed whatever they resolve to; ".corp.example" allows every name under it. */
  hosts: string[];
  /** Networks allowed although special-use: "10.20.0.0/16", "fd00::/8", "192.168.1.10". */
  networks: BlockList;
}

/** Why an OUTBOUND_ALLOWED_HOSTS entry cannot be used, or null. */
export function allowListEntryProblem(entry: string, production: boolean): string | null {
  if (entry.includes('://')) return `"${entry}" is a URL; list the host name alone`;
  const [address, prefix, extra] = entry.split('/');
  if (extra !== undefined) return `"${entry}" is neither a host name nor an address/prefix`;
  if (isIP(address!)) {
    const bits = isIP(address!) === 6 ? 128 : 32;
    if (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= bits)) return `"${entry}": the prefix must be 0-${bits}`;
    if (production && (loopback.check(unmapped(address!), family(unmapped(address!))) || address === '::')) return `"${entry}" is a loopback address, which production never calls`;
    return null;
  }
  if (prefix !== undefined) return `"${entry}": only an IP address can have a /prefix`;
  if (!/^\.?(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(address!)) return `"${entry}" is not a host name, an IP address or a network`;
  if (production && address!.toLowerCase() === 'localhost') return `"${entry}" is a loopback name, which production never calls`;
  return null;
}

/** The allow-list from its entries, already checked by allowListEntryProblem. */
export function parseAllowList(entries: readonly string[]): OutboundAllowList {
  const networks = new BlockList();
  const hosts: string[] = [];
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    if (isIP(address)) {
      const bits = isIP(address) === 6 ? 128 : 32;
      networks.addSubnet(address, prefix === undefined ? bits : Number(prefix), family(address));
    } else {
      hosts.push(address.toLowerCase());
    }
  }
  return { hosts, networks };
}

export interface OutboundPolicy {
  allowList: OutboundAllowList;
  /** Loopback is reachable only in development, where test servers and tunnels live. */
  allowLoopback: boolean;
}

const hostListed = (hostname: string, hosts: readonly string[]): boolean => {
  const name = hostname.toLowerCase();
  return hosts.some((entry) => (entry.startsWith('.') ? name.endsWith(entry) : name === entry));
};

/** Why a connection to `address` (resolved from `hostname`) is refused, or null when it may go ahead. */
export function refusal(policy: OutboundPolicy, hostname: string, rawAddress: string): string | null {
  const address = unmapped(rawAddress);
  const kind = family(address);
  if (loopback.check(address, kind)) return policy.allowLoopback ? null : `${hostname} resolves to the loopback address ${address}, which production never calls`;
  if (!specialUse.check(address, kind)) return null;
  if (hostListed(hostname, policy.allowList.hosts) || policy.allowList.networks.check(address, kind)) return null;
  return `${hostname} resolves to ${address}, a private or special-use address; list the host or its network in OUTBOUND_ALLOWED_HOSTS to allow it`;
}

export class OutboundRefusedError extends Error {
  override name = 'OutboundRefusedError';
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup, keeping only the addresses the policy allows (none: the connection fails with the reason). */
function guardedLookup(policy: OutboundPolicy) {
  return (hostname: string, options: LookupAllOptions | Record<string, unknown>, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const reasons: string[] = [];
      const allowed = addresses.filter((entry) => {
        const reason = refusal(policy, hostname, entry.address);
        if (reason) reasons.push(reason);
        return !reason;
      });
      if (!allowed.length) return callback(new OutboundRefusedError(reasons[0] ?? `${hostname} has no address`), []);
      if ((options as { all?: boolean }).all) return callback(null, allowed);
      return callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

export interface OutboundFetchOptions {
  policy: OutboundPolicy;
  timeoutMs: number;
  logger: Logger;
  /** The most a response body may hold; a larger one fails the request (256 KiB by default). */
  maxBytes?: number;
}

export type OutboundFetch = (url: URL | string, init?: RequestInit & { signal?: AbortSignal }) => Promise<Response>;

/**
 * A fetch for oidc-provider's `fetch` option (and our own outbound calls): the connection is
 * opened only to addresses the policy allows, the whole request has a deadline, and a failure is
 * logged with its reason. (Response size limits are oidc-provider's fetchResponseBodyLimits.)
 */
export function createOutboundFetch({ policy, timeoutMs, logger, maxBytes = 256 * 1024 }: OutboundFetchOptions): OutboundFetch & { close(): Promise<void> } {
  // undici is loaded with the first outbound request (most instances make few or none: a
  // client's jwks_uri, a logout, a webhook), not at start-up, where it is several MiB.
  let client: Promise<{ dispatcher: Agent; fetch: typeof import('undici').fetch }> | undefined;
  const undici = () => (client ??= import('undici').then(({ Agent: UndiciAgent, buildConnector, fetch }) => {
    const connect = buildConnector({ timeout: timeoutMs, lookup: guardedLookup(policy) } as Parameters<typeof buildConnector>[0]);
    const dispatcher = new UndiciAgent({
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: (options, callback) => {
        // A literal address skips DNS, so it is judged here.
        const hostname = options.hostname.replace(/^\[|\]$/g, '');
        if (isIP(hostname)) {
          const reason = refusal(policy, hostname, hostname);
          if (reason) return callback(new OutboundRefusedError(reason), null);
        }
        return connect(options, callback);
      },
    });
    return { dispatcher, fetch };
  }));
  const outboundFetch = async (url: URL | string, init: RequestInit & { signal?: AbortSignal } = {}): Promise<Response> => {
    const target = new URL(url);
    const where = `${target.origin}${target.pathname}`;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    try {
      const { dispatcher, fetch: undiciFetch } = await undici();
      const response = await undiciFetch(target, { ...(init as object), signal, dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Response;
      if (!response.ok) logger.warn({ url: where, status: response.status }, 'outbound request answered with an error status');
      // Read here, within the deadline and the size bound, so a slow or endless body fails (and is logged) too.
      const body = await readBounded(response, maxBytes);
      return new Response(response.status === 204 || response.status === 304 ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
    } catch (error) {
      const { reason, refused } = causeOf(error);
      logger.warn({ url: where, reason, refused }, 'outbound request failed');
      throw error;
    }
  };
  return Object.assign(outboundFetch, { close: async () => (client ? (await client).dispatcher.close() : undefined) });
}

class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError';
}

async function readBounded(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new ResponseTooLargeError(`the response is larger than ${maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of response.body ?? []) {
    received += chunk.byteLength;
    if (received > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new ResponseTooLargeError(`the response is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The innermost error of a failed fetch ("fetch failed" wraps the real reason). */
function causeOf(error: unknown): { reason: string; refused: boolean } {
  let current = error as { cause?: unknown; name?: string; message?: string } | undefined;
  while (current?.cause) current = current.cause as typeof current;
  if (current instanceof OutboundRefusedError) return { reason: current.message, refused: true };
  if (current?.name === 'TimeoutError' || current?.name === 'AbortError') return { reason: 'timed out', refused: false };
  return { reason: current?.message ?? String(error), refused: false };
}
