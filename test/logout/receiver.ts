import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

/** One logout token as a relying party's back-channel logout endpoint received it. */
export interface Received {
  /** The path it was posted to: which client's endpoint (one receiver can serve several). */
  path: string;
  contentType: string | undefined;
  token: string;
}

/**
 * A relying party's back-channel logout endpoint (Back-Channel Logout 1.0 §2.5) on 127.0.0.1: it
 * keeps every logout token it accepts (answering 200). `down()` stops listening (connections are
 * refused), `answer(503)` answers with an error instead of accepting, `up()` back to normal on
 * the same port.
 */
export class Receiver {
  readonly received: Received[] = [];
  /** Every POST that reached it, accepted or not. */
  attempts = 0;
  private status = 200;
  private server: Server;
  private port = 0;

  private constructor() {
    this.server = this.make();
  }

  static async start(): Promise<Receiver> {
    const receiver = new Receiver();
    receiver.server.listen(0, '127.0.0.1');
    await once(receiver.server, 'listening');
    receiver.port = (receiver.server.address() as AddressInfo).port;
    return receiver;
  }

  private make(): Server {
    return createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.attempts += 1;
        if (request.method !== 'POST' || this.status !== 200) {
          response.writeHead(request.method !== 'POST' ? 405 : this.status).end();
          return;
        }
        const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('logout_token');
        if (!token) {
          response.writeHead(400).end();
          return;
        }
        this.received.push({ path: request.url ?? '', contentType: request.headers['content-type'], token });
        response.writeHead(200, { 'cache-control': 'no-store' }).end();
      });
    });
  }

  /** The endpoint URL for one client. */
  url(path = '/bcl'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** The tokens posted to `path`. */
  tokensAt(path: string): string[] {
    return this.received.filter((entry) => entry.path === path).map((entry) => entry.token);
  }

  /** Answer every POST with this status (200: accept again). */
  answer(status: number): void {
    this.status = status;
  }

  async down(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async up(): Promise<void> {
    this.status = 200;
    if (this.server.listening) return;
    this.server = this.make();
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
  }

  /** Resolves once `count` tokens have arrived at `path`, with them; fails after `timeoutMs`. */
  async waitFor(path: string, count = 1, timeoutMs = 30_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.tokensAt(path).length < count) {
      if (Date.now() > deadline) throw new Error(`${this.tokensAt(path).length} of ${count} logout tokens at ${path} after ${timeoutMs} ms (${this.attempts} attempts reached the receiver)`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return this.tokensAt(path);
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.down();
  }
}
