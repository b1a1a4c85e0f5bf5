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
const NOTIFICATION = 0x41; // 'A', NotificationResponse from the backend

export type NotificationListener = (channel: string, payload: string) => void;

/**
 * Hands each NotificationResponse in a backend reply to `listener`. PGlite is one session: once
 * it has run LISTEN, a NOTIFY committed by any connection (the server's own pool, a CLI joined
 * over the socket) comes back in the reply to the connection that committed it, so watching
 * every reply here hears them all, in this process, before that reply is even sent.
 */
function dispatchNotifications(reply: Uint8Array, listener: NotificationListener): void {
  const view = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  for (let offset = 0; offset + 5 <= view.length;) {
    const length = view.readInt32BE(offset + 1);
    if (view[offset] === NOTIFICATION) {
      // Int32 sender pid, then the channel and the payload, each NUL-terminated.
      const body = view.subarray(offset + 9, offset + 1 + length);
      const end = body.indexOf(0);
      if (end >= 0) listener(body.toString('utf8', 0, end), body.toString('utf8', end + 1, Math.max(end + 1, body.length - 1)));
    }
    offset += 1 + length;
  }
}

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
  readonly #onNotification: NotificationListener | undefined;

  constructor(db: PGlite, floor: Floor, socket: Socket, onNotification?: NotificationListener) {
    this.#db = db;
    this.#floor = floor;
    this.#socket = socket;
    this.#onNotification = onNotification;
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
      if (this.#onNotification && reply.length) dispatchNotifications(reply, this.#onNotification);
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
  readonly #listeners = new Set<NotificationListener>();

  constructor(db: PGlite, path: string) {
    this.#db = db;
    this.#path = path;
  }

  /** Hears every notification on a channel the session LISTENs to (see dispatchNotifications). */
  onNotification(listener: NotificationListener): void {
    this.#listeners.add(listener);
  }

  #notify = (channel: string, payload: string): void => {
    for (const listener of this.#listeners) listener(channel, payload);
  };

  async start(): Promise<void> {
    const server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      new Connection(this.#db, this.#floor, socket, this.#notify);
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
