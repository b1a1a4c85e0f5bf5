import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

/**
 * Serves one PGlite database to many `pg` connections over the Postgres wire protocol.
 *
 * PGlite is a single backend, so connections must take turns. A connection takes the floor with
 * its first message and keeps it until the backend is idle again: after a Sync or simple Query
 * while no transaction is open. That keeps an extended-protocol exchange (Parse, Bind, Execute,
 * Sync) and a whole transaction together. pglite-socket 0.2's multiplexer only keeps
 * transactions together, so under load one connection's Bind can land on another's Parse and a
 * query returns somebody else's rows; hence this server.
 */

const SSL_REQUEST = 80_877_103;
const CANCEL_REQUEST = 80_877_102;
const PROTOCOL_3 = 196_608;
const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const TERMINATE = 0x58; // 'X'

/** A FIFO mutex: acquire() resolves with the function that releases it. */
class Floor {
  #tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => next);
    return ready;
  }
}

class Connection {
  readonly #db: PGlite;
  readonly #floor: Floor;
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #started = false;
  #release: (() => void) | null = null;
  #work: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(db: PGlite, floor: Floor, socket: Socket) {
    this.#db = db;
    this.#floor = floor;
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
      this.#work = this.#work.then(() => this.#drain()).catch(() => {
        this.#socket.destroy();
      });
    });
    socket.on('error', () => undefined); // a client vanishing is normal; close handles it
    socket.on('close', () => {
      this.#closed = true;
      this.#work = this.#work.then(() => this.#abandon());
    });
  }

  /** The next complete message from the buffer, or null when more bytes are needed. */
  #nextMessage(): { bytes: Uint8Array; type: number | null } | null {
    if (!this.#started) {
      if (this.#buffer.length < 8) return null;
      const length = this.#buffer.readInt32BE(0);
      if (this.#buffer.length < length) return null;
      const bytes = this.#buffer.subarray(0, length);
      this.#buffer = this.#buffer.subarray(length);
      return { bytes, type: null };
    }
    if (this.#buffer.length < 5) return null;
    const length = 1 + this.#buffer.readInt32BE(1);
    if (this.#buffer.length < length) return null;
    const bytes = this.#buffer.subarray(0, length);
    this.#buffer = this.#buffer.subarray(length);
    return { bytes, type: bytes[0]! };
  }

  async #drain(): Promise<void> {
    for (let message = this.#nextMessage(); message && !this.#closed; message = this.#nextMessage()) {
      if (message.type === null) {
        const code = message.bytes.length >= 8 ? Buffer.from(message.bytes).readInt32BE(4) : 0;
        if (code === SSL_REQUEST) {
          this.#socket.write('N'); // no TLS on a local socket; the client goes on in plain text
          continue;
        }
        if (code === CANCEL_REQUEST) continue; // not supported by PGlite
        if (code !== PROTOCOL_3) throw new Error('unsupported protocol');
        this.#started = true;
      }
      if (message.type === TERMINATE) {
        this.#socket.end();
        return;
      }
      this.#release ??= await this.#floor.acquire();
      const reply = await this.#db.execProtocolRaw(new Uint8Array(message.bytes));
      if (reply.length && !this.#closed) this.#socket.write(reply);
      const endsExchange = message.type === null || message.type === SYNC || message.type === QUERY;
      if (endsExchange && !this.#db.isInTransaction()) this.#yieldFloor();
    }
  }

  #yieldFloor(): void {
    const release = this.#release;
    this.#release = null;
    release?.();
  }

  /** A client that disconnects mid-transaction must not leave the backend inside it. */
  async #abandon(): Promise<void> {
    if (!this.#release) return;
    try {
      if (this.#db.isInTransaction()) await this.#db.exec('ROLLBACK');
    } finally {
      this.#yieldFloor();
    }
  }
}

export class PGliteWireServer {
  readonly #db: PGlite;
  readonly #path: string;
  readonly #floor = new Floor();
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;

  constructor(db: PGlite, path: string) {
    this.#db = db;
    this.#path = path;
  }

  async start(): Promise<void> {
    const server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      new Connection(this.#db, this.#floor, socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#path, () => resolve());
    });
    this.#server = server;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
