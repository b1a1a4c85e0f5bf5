import { mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../log.ts';

type Nodemailer = (typeof import('nodemailer'))['default'];

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** Sends now; rejects on failure. */
  send(message: MailMessage): Promise<void>;
  /** Sends without making the caller wait (responses must not reveal by timing whether a mail was sent); failures are logged, never thrown. */
  sendInBackground(message: MailMessage, context?: Record<string, unknown>): void;
  /** Waits for background sends still in flight (bounded, e.g. 10 s), then closes the transport. */
  close(): Promise<void>;
  /** 'smtp' or 'outbox', for the start-up log and tests. */
  readonly mode: 'smtp' | 'outbox';
}

export interface MailerOptions {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://user:pass@host:465`. */
  smtpUrl?: string | undefined;
  /** Sender, e.g. `Sign-in <no-reply@id.example.com>`. */
  from: string;
  dataDir: string;
  logger: Logger;
  /** How long close() waits for background sends, 10 s unless told. */
  closeTimeoutMs?: number | undefined;
}

/** Every SMTP step is bounded so that a dead or stalled server cannot hold a request (or shutdown) forever. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 10_000, dnsTimeout: 10_000 } as const;

/**
 * One plain address, as the account layer stores it. Anything that could make nodemailer see
 * several recipients or a display name (commas, semicolons, angle brackets, quotes, spaces,
 * line breaks) is refused instead of being interpreted.
 */
const SINGLE_ADDRESS = /^[^\s@,;:<>()"[\]\\]+@[^\s@,;:<>()"[\]\\]+$/;

interface Delivery {
  deliver(message: MailMessage): Promise<void>;
  close(): void;
}

function smtpDelivery(nodemailer: Nodemailer, smtpUrl: string, from: string): Delivery {
  // A configuration object next to the url: the url's own settings (and query parameters such
  // as ?connectionTimeout=…) win over these defaults.
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    ...SMTP_TIMEOUTS,
    // Messages are only ever strings built here; never let content point at files or URLs.
    disableFileAccess: true,
    disableUrlAccess: true,
    maxRecipients: 1,
  });
  return {
    async deliver(message) {
      await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html });
    },
    close: () => transport.close(),
  };
}

/**
 * DEVELOPMENT ONLY. Without SMTP settings the complete message is written to
 * `<dataDir>/outbox/*.eml` and its text (with the verification or reset link, which is a
 * credential) is printed in the log, so whoever runs `npm start` on a laptop can follow the
 * link. Production without SMTP settings is refused by the configuration, not here.
 */
function outboxDelivery(nodemailer: Nodemailer, dataDir: string, from: string, logger: Logger): Delivery {
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows', // RFC 5322 line endings, as an SMTP server would have received it
    disableFileAccess: true,
    disableUrlAccess: true,
    maxRecipients: 1,
  });
  const dir = join(dataDir, 'outbox');
  return {
    async deliver(message) {
      const info = await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html });
      if (!Buffer.isBuffer(info.message)) throw new Error('stream transport did not buffer the message');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const file = join(dir, `${stamp}-${randomBytes(4).toString('hex')}.eml`);
      await writeFile(file, info.message, { mode: 0o600, flag: 'wx' });
      logger.info({ event: 'mail.outbox', to: message.to, subject: message.subject, file, text: message.text }, 'mail written to the development outbox');
    },
    close: () => transport.close(),
  };
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function createMailer(options: MailerOptions): Mailer {
  const { logger } = options;
  const mode = options.smtpUrl ? 'smtp' : 'outbox';
  // nodemailer (some forty modules) is loaded with the first mail, not at start-up: most
  // processes send none for a long while, and some (the CLI, a busy token server) never.
  let delivery: Promise<Delivery> | null = null;
  const deliveryOf = (): Promise<Delivery> => (delivery ??= import('nodemailer').then(({ default: nodemailer }) =>
    options.smtpUrl ? smtpDelivery(nodemailer, options.smtpUrl, options.from) : outboxDelivery(nodemailer, options.dataDir, options.from, logger)));
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  /**
   * Delivers and logs; `context` (e.g. `{ flow: 'reset-password' }`) is added to both log lines.
   * `accepted` is whether the mailer was still open when the caller handed the message over.
   */
  const deliverAndLog = async (message: MailMessage, accepted: boolean, context: Record<string, unknown> = {}): Promise<void> => {
    const fields = { ...context, to: message.to, subject: message.subject };
    try {
      if (!accepted) throw new Error('mailer is closed');
      if (!SINGLE_ADDRESS.test(message.to)) throw new Error('recipient is not a single plain email address');
      await (await deliveryOf()).deliver(message);
    } catch (err) {
      logger.warn({ ...fields, event: 'mail.failed', err: errorMessage(err) }, 'mail could not be sent');
      throw err;
    }
    logger.info({ ...fields, event: 'mail.sent' }, 'mail sent');
  };

  return {
    mode,
    send: (message) => deliverAndLog(message, !closed),
    sendInBackground(message, context) {
      const accepted = !closed;
      // Nothing of the delivery, not even composing the message, runs in the caller's turn:
      // setImmediate waits until the pending callbacks and promise jobs (which is how Koa
      // finishes and writes a response) have run. Failures are logged as mail.failed and go
      // no further.
      const pending: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => deliverAndLog(message, accepted, context))
        .catch(() => undefined)
        .finally(() => inFlight.delete(pending));
      inFlight.add(pending);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (inFlight.size) {
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), closeTimeoutMs); });
        const outcome = await Promise.race([Promise.allSettled([...inFlight]).then(() => 'done' as const), expired]);
        clearTimeout(timer);
        if (outcome === 'timeout') logger.warn({ event: 'mail.close_timeout', pending: inFlight.size }, 'gave up waiting for mail still being sent');
      }
      if (delivery) (await delivery.catch(() => null))?.close();
    },
  };
}
