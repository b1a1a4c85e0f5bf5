import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';

/*
 * A TCP proxy in front of a real service that can make it look frozen (a stuck host, a paused
 * VM): connections are still accepted and stay open, but nothing gets through in either
 * direction until thaw(). Stopping the service's processes instead would need every backend
 * of PostgreSQL stopped one by one; this is simpler and exact.
 */

export interface FreezeProxy {
  /** The service's URL with the proxy's port in it. */
  url: string;
  /** Holds back every byte and every close, both ways; new connections are still accepted. */
  freeze(): void;
  /** Delivers what was held back, in order, and forwards again. */
  thaw(): void;
  close(): Promise<void>;
}

type Held = Buffer | 'end' | 'destroy';

/** One direction of one connection. */
class Direction {
  readonly from: Socket;
  readonly #held: Held[] = [];
  readonly #to: Socket;
  readonly #frozen: () => boolean;

  constructor(from: Socket, to: Socket, frozen: () => boolean) {
    this.from = from;
    this.#to = to;
    this.#frozen = frozen;
    from.on('data', (chunk: Buffer) => this.#pass(chunk));
    from.on('end', () => this.#pass('end'));
    from.on('close', () => this.#pass('destroy'));
  }

  #pass(item: Held): void {
    if (this.#frozen()) this.#held.push(item);
    else this.#deliver(item);
  }

  #deliver(item: Held): void {
    if (this.#to.destroyed) return;
    if (item === 'end') this.#to.end();
    // After a clean end the other side finishes by itself; destroying now would drop its last bytes.
    else if (item === 'destroy') {
      if (!this.#to.writableEnded) this.#to.destroy();
    } else this.#to.write(item);
  }

  flush(): void {
    for (const item of this.#held.splice(0)) this.#deliver(item);
  }
}

/** A proxy from a free loopback port to `serviceUrl`'s host and port; `url` is serviceUrl through it. */
export async function startFreezeProxy(serviceUrl: string): Promise<FreezeProxy> {
  const target = new URL(serviceUrl);
  let frozen = false;
  const isFrozen = () => frozen;
  const directions = new Set<Direction>();
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined); // a peer going away is part of the game
    socket.on('close', () => sockets.delete(socket));
  };
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ host: target.hostname, port: Number(target.port), allowHalfOpen: true });
    track(client);
    track(upstream);
    const up = new Direction(client, upstream, isFrozen);
    const down = new Direction(upstream, client, isFrozen);
    directions.add(up);
    directions.add(down);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const url = new URL(serviceUrl);
  url.port = String(port);
  return {
    url: url.toString(),
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const direction of directions) {
        direction.flush();
        if (direction.from.destroyed) directions.delete(direction);
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
