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
 *
 * Taking turns must not become waiting forever: a connection that waits for the floor longer
 * than floorWaitMs gets an error instead, and one that holds it while sending nothing for longer
 * than idleHolderMs (a stuck transaction, a stopped CLI) is rolled back and disconnected.
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

export interface WireServerOptions {
  /**
   * How long a connection waits for the floor before its statement fails with SQLSTATE 55P03
   * (lock_not_available); unset: as long as it takes.
   */
  floorWaitMs?: number;
  /**
   * How long a connection may hold the floor while sending nothing (inside a transaction, or in
   * the middle of an exchange) before it is rolled back and disconnected, like PostgreSQL's
   * idle_in_transaction_session_timeout; unset: no limit.
   */
  idleHolderMs?: number;
}

/** A FIFO mutex whose waiters may give up: acquire() resolves with the release function, or null. */
class Floor {
  #held = false;
  readonly #queue: Array<() => void> = [];

  acquire(waitMs: number | undefined): Promise<(() => void) | null> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const grant = () => {
        clearTimeout(timer);
        resolve(this.#releaser());
      };
      this.#queue.push(grant);
      if (waitMs !== undefined) {
        timer = setTimeout(() => {
          const index = this.#queue.indexOf(grant);
          if (index < 0) return;
          this.#queue.splice(index, 1);
          resolve(null);
        }, waitMs);
      }
    });
  }

  /** Hands the floor to the next waiter, or frees it; calling it again does nothing. */
  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) next();
      else this.#held = false;
    };
  }
}

/** A backend message: type byte, Int32 length (itself included), body. */
function backendMessage(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

/** ErrorResponse (protocol "Message Formats"): each field a code byte and a NUL-terminated string. */
function errorResponse(severity: 'ERROR' | 'FATAL', sqlState: string, message: string, hint: string): Buffer {
  const fields = [['S', severity], ['V', severity], ['C', sqlState], ['M', message], ['H', hint]] as const;
  return backendMessage('E', Buffer.concat([...fields.map(([code, value]) => Buffer.from(`${code}${value}\0`, 'utf8')), Buffer.from([0])]));
}

/** ReadyForQuery, idle: a connection without the floor has no transaction open. */
const READY_IDLE = backendMessage('Z', Buffer.from('I', 'latin1'));
const SYNC_MESSAGE = new Uint8Array([SYNC, 0, 0, 0, 4]);

class Connection {
  readonly #db: PGlite;
  readonly #floor: Floor;
  readonly #socket: Socket;
  readonly #options: WireServerOptions;
  #buffer: Buffer = Buffer.alloc(0);
  #started = false;
  #release: (() => void) | null = null;
  #work: Promise<void> = Promise.resolve();
  #closed = false;
  /** The backend has seen part of an extended-protocol exchange from us, not yet its Sync. */
  #midExchange = false;
  /** After a refused extended-protocol message: the rest of that exchange is skipped, up to its Sync. */
  #discarding = false;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #onNotification: NotificationListener | undefined;

  constructor(db: PGlite, floor: Floor, socket: Socket, options: WireServerOptions, onNotification?: NotificationListener) {
    this.#db = db;
    this.#floor = floor;
    this.#socket = socket;
    this.#options = options;
    this.#onNotification = onNotification;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      clearTimeout(this.#idleTimer);
      this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
      this.#work = this.#work.then(() => this.#drain()).catch(() => {
        this.#socket.destroy();
      });
    });
    socket.on('error', () => undefined); // a client vanishing is normal; close handles it
    socket.on('close', () => {
      clearTimeout(this.#idleTimer);
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
    clearTimeout(this.#idleTimer);
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
      if (this.#discarding) {
        if (message.type === SYNC) {
          this.#discarding = false;
          this.#socket.write(READY_IDLE);
        }
        continue;
      }
      if (!this.#release) {
        const release = await this.#floor.acquire(this.#options.floorWaitMs);
        if (this.#closed) {
          release?.();
          return;
        }
        if (!release) {
          this.#refuse(message.type);
          continue;
        }
        this.#release = release;
      }
      const reply = await this.#db.execProtocolRaw(new Uint8Array(message.bytes));
      if (this.#onNotification && reply.length) dispatchNotifications(reply, this.#onNotification);
      if (reply.length && !this.#closed) this.#socket.write(reply);
      const endsExchange = message.type === null || message.type === SYNC || message.type === QUERY;
      this.#midExchange = !endsExchange;
      if (endsExchange && !this.#db.isInTransaction()) this.#yieldFloor();
    }
    if (this.#release && !this.#closed && this.#options.idleHolderMs !== undefined) {
      this.#idleTimer = setTimeout(() => this.#expel(), this.#options.idleHolderMs);
    }
  }

  /**
   * The floor did not come within floorWaitMs. Like PostgreSQL after an error in the extended
   * protocol (protocol "Extended Query"), the rest of the exchange is skipped up to its Sync, which is answered
   * with ReadyForQuery; a simple Query is one exchange; a start-up cannot go on.
   */
  #refuse(type: number | null): void {
    const fatal = type === null;
    this.#socket.write(errorResponse(
      fatal ? 'FATAL' : 'ERROR',
      '55P03',
      `waited more than ${this.#options.floorWaitMs} ms for the embedded database: another connection has been holding it`,
      'The embedded database runs one transaction at a time; a long or stuck one (a CLI command, a transaction that waits for something) makes others wait. EMBEDDED_FLOOR_TIMEOUT_MS sets this limit.',
    ));
    if (fatal) {
      this.#closed = true;
      this.#socket.end();
    } else if (type === QUERY || type === SYNC) {
      this.#socket.write(READY_IDLE);
    } else {
      this.#discarding = true;
    }
  }

  /** Held the floor while sending nothing for idleHolderMs: roll back, let the others on, hang up. */
  #expel(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#work = this.#work.then(async () => {
      try {
        await this.#resetBackend();
      } finally {
        this.#yieldFloor();
        this.#socket.end(errorResponse(
          'FATAL',
          '25P03',
          `terminating connection: it held the embedded database for more than ${this.#options.idleHolderMs} ms without sending anything`,
          'A transaction must not wait for other work while it is open; its changes were rolled back.',
        ));
      }
    });
  }

  #yieldFloor(): void {
    const release = this.#release;
    this.#release = null;
    release?.();
  }

  /** Leaves the single backend as the next connection expects it: no exchange, no transaction. */
  async #resetBackend(): Promise<void> {
    if (!this.#release) return;
    if (this.#midExchange) await this.#db.execProtocolRaw(SYNC_MESSAGE);
    this.#midExchange = false;
    if (this.#db.isInTransaction()) await this.#db.exec('ROLLBACK');
  }

  /** A client that disconnects mid-transaction must not leave the backend inside it. */
  async #abandon(): Promise<void> {
    if (!this.#release) return;
    try {
      await this.#resetBackend();
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
  readonly #options: WireServerOptions;

  constructor(db: PGlite, path: string, options: WireServerOptions = {}) {
    this.#db = db;
    this.#path = path;
    this.#options = options;
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
      new Connection(this.#db, this.#floor, socket, this.#options, this.#notify);
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
