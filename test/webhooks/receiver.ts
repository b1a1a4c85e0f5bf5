import { createServer, type IncomingHttpHeaders } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  headers: Record<string, string>;
  body: string;
  /** The body's `type`. */
  type: string;
  receivedAt: number;
}

export interface Receiver {
  url: string;
  /** Every request, in the order it arrived (answered or not). */
  deliveries: Delivery[];
  /** Resolves once `count` requests have arrived; fails after timeoutMs. */
  waitFor(count: number, timeoutMs?: number): Promise<Delivery[]>;
  close(): Promise<void>;
}

const flat = (headers: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value ?? '']));

/** A webhook receiver on 127.0.0.1 that keeps what it got; `status` decides each answer (by arrival index). */
export async function startReceiver(status: (delivery: Delivery, index: number) => number = () => 204): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let type = '';
      try {
        type = (JSON.parse(body) as { type?: string }).type ?? '';
      } catch {
        type = '';
      }
      const delivery = { headers: flat(request.headers), body, type, receivedAt: Date.now() };
      deliveries.push(delivery);
      response.statusCode = status(delivery, deliveries.length - 1);
      response.end();
      for (const waiter of waiters) waiter();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    waitFor(count, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (deliveries.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(deliveries.slice());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} deliveries within ${timeoutMs} ms, got ${deliveries.length}: ${deliveries.map((d) => d.type).join(', ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
