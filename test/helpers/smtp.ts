import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One message as the SMTP server received it, with the parts tests look at decoded. */
export interface CaughtMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO). */
  to: string[];
  /** The message exactly as received (after SMTP dot-unstuffing). */
  raw: string;
  /** The Subject header, RFC 2047 encoded words decoded. */
  subject: string;
  /** The decoded text/plain part, line breaks as `\n`. */
  text: string;
  /** The http(s) URLs in the text part, in order. */
  links: string[];
}

export interface SmtpServerOptions {
  /** Holds the reply to DATA this long, to model a slow server. */
  delayMs?: number;
  /**
   * Holds the reply to DATA until release(): the message is received (waitFor finds it) but not
   * acknowledged, so a test can show by order, not by time, what did or did not wait for it.
   */
  hold?: boolean;
}

/**
 * A real SMTP server on a random loopback port for tests: plain text (no TLS, no STARTTLS),
 * authentication optional (any credentials are accepted, so `smtp://user:pass@…` works too).
 * It keeps every message it receives.
 */
export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<{
  url: string;
  messages: CaughtMail[];
  waitFor(predicate: (mail: CaughtMail) => boolean, timeoutMs?: number): Promise<CaughtMail>;
  /** With `hold`: acknowledges the messages held so far, and every later one at once. */
  release(): void;
  close(): Promise<void>;
}> {
  const messages: CaughtMail[] = [];
  const waiters = new Set<(mail: CaughtMail) => void>();
  let holding = options.hold ?? false;
  const held: Array<() => void> = [];

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 1_000,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err: Error) => callback(err));
      stream.on('end', () => {
        const source = Buffer.concat(chunks);
        const { subject, text } = parseMessage(source);
        const mail: CaughtMail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: source.toString('utf8'),
          subject,
          text,
          links: findLinks(text),
        };
        // Stored before the 250 reply, so a sender that has been told "sent" finds it here.
        messages.push(mail);
        for (const waiter of waiters) waiter(mail);
        if (holding) held.push(() => callback(null));
        else if (options.delayMs) setTimeout(() => callback(null), options.delayMs);
        else callback(null);
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A client that drops its connection must not take the test process down with an unhandled 'error'.
  server.on('error', () => {});
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    waitFor(predicate, timeoutMs = 5_000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<CaughtMail>((resolve, reject) => {
        const waiter = (mail: CaughtMail): void => {
          if (!predicate(mail)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(mail);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = messages.map((mail) => `${mail.to.join(',')}: ${mail.subject}`).join('; ') || 'none';
          reject(new Error(`no matching mail within ${timeoutMs} ms (received: ${seen})`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    release() {
      holding = false;
      for (const acknowledge of held.splice(0)) acknowledge();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------
// Minimal MIME reading: enough for what nodemailer produces (single part or nested multipart,
// 7bit/8bit/quoted-printable/base64 bodies, RFC 2047 encoded headers). Bytes are handled as
// latin1 strings, which map one character to one byte, until a charset decodes them.

interface Entity {
  headers: Map<string, string>;
  body: string;
}

function splitEntity(source: string): Entity {
  const match = /\r?\n\r?\n/.exec(source);
  const head = match ? source.slice(0, match.index) : source;
  const body = match ? source.slice(match.index + match[0].length) : '';
  const headers = new Map<string, string>();
  // Unfold: a line break followed by white space continues the previous header line.
  for (const line of head.replace(/\r?\n(?=[ \t])/g, '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

/** `text/plain; charset="utf-8"` → `{ value: 'text/plain', params: { charset: 'utf-8' } }`. */
function parseHeaderValue(header: string | undefined): { value: string; params: Map<string, string> } {
  const [first = '', ...rest] = (header ?? '').split(';');
  const params = new Map<string, string>();
  const paramPattern = /^\s*([^=\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|(\S*?))\s*$/;
  // Split on semicolons outside quotes.
  for (const piece of rest.join(';').match(/(?:[^;"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const param = paramPattern.exec(piece);
    if (!param?.[1]) continue;
    const quoted = param[2];
    params.set(param[1].toLowerCase(), quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (param[3] ?? ''));
  }
  return { value: first.trim().toLowerCase(), params };
}

function splitMultipart(body: string, boundary: string): string[] {
  const parts: string[] = [];
  let current: string[] | null = null;
  for (const line of body.split(/\r?\n/)) {
    const trimmed = line.trimEnd();
    if (trimmed === `--${boundary}--`) {
      if (current) parts.push(current.join('\r\n'));
      return parts;
    }
    if (trimmed === `--${boundary}`) {
      if (current) parts.push(current.join('\r\n'));
      current = [];
      continue;
    }
    current?.push(line); // lines before the first boundary are the preamble, ignored
  }
  if (current) parts.push(current.join('\r\n')); // no closing boundary: keep what came
  return parts;
}

/** `=XX` escapes to bytes; every other character is one byte. */
function decodeHexEscapes(input: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < input.length; i += 1) {
    const hex = input.slice(i + 1, i + 3);
    if (input[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(input.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** Quoted-printable (RFC 2045 6.7) to bytes: trailing white space and soft line breaks dropped, `=XX` decoded. */
export function decodeQuotedPrintable(encoded: string): Buffer {
  return decodeHexEscapes(encoded.replace(/[ \t]+(?=\r?\n|$)/g, '').replace(/=\r?\n/g, ''));
}

function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function decodeBody(entity: Entity): string {
  const encoding = (entity.headers.get('content-transfer-encoding') ?? '7bit').trim().toLowerCase();
  const { params } = parseHeaderValue(entity.headers.get('content-type'));
  let bytes: Buffer;
  if (encoding === 'quoted-printable') bytes = decodeQuotedPrintable(entity.body);
  else if (encoding === 'base64') bytes = Buffer.from(entity.body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  else bytes = Buffer.from(entity.body, 'latin1');
  return decodeCharset(bytes, params.get('charset')).replace(/\r\n/g, '\n');
}

/** The first text/plain part that is not an attachment, depth first. */
function findTextPart(entity: Entity): Entity | undefined {
  const type = parseHeaderValue(entity.headers.get('content-type') ?? 'text/plain');
  if (type.value.startsWith('multipart/')) {
    const boundary = type.params.get('boundary');
    if (!boundary) return undefined;
    for (const part of splitMultipart(entity.body, boundary)) {
      const found = findTextPart(splitEntity(part));
      if (found) return found;
    }
    return undefined;
  }
  const disposition = parseHeaderValue(entity.headers.get('content-disposition')).value;
  return type.value === 'text/plain' && disposition !== 'attachment' ? entity : undefined;
}

/** RFC 2047: `=?UTF-8?Q?R=C3=A9initialiser?= =?UTF-8?B?...?=` → text. Adjacent words join without the space between them. */
export function decodeEncodedWords(value: string): string {
  const word = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
  const wordRun = /=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=(?:\s*=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)*/g;
  return value.replace(wordRun, (run) => {
    let out = '';
    let pending: number[] = [];
    let pendingCharset: string | undefined;
    const flush = (): void => {
      if (pending.length) out += decodeCharset(Buffer.from(pending), pendingCharset);
      pending = [];
    };
    for (const [, rawCharset = '', kind = '', text = ''] of run.matchAll(word)) {
      const charset = rawCharset.replace(/\*.*$/, '').toLowerCase(); // RFC 2231 language suffix
      const bytes = kind.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : decodeHexEscapes(text.replace(/_/g, ' '));
      // Bytes of one charset are joined first: a character may be split across two words.
      if (charset !== pendingCharset) flush();
      pendingCharset = charset;
      pending.push(...bytes);
    }
    flush();
    return out;
  });
}

/** Subject and text/plain body of a raw RFC 5322 message. */
export function parseMessage(source: Buffer | string): { subject: string; text: string } {
  const entity = splitEntity(typeof source === 'string' ? Buffer.from(source, 'utf8').toString('latin1') : source.toString('latin1'));
  const rawSubject = entity.headers.get('subject') ?? '';
  // Header bytes outside encoded words are UTF-8 (SMTPUTF8) or plain ASCII.
  const subject = decodeEncodedWords(Buffer.from(rawSubject, 'latin1').toString('utf8'));
  const textPart = findTextPart(entity);
  return { subject, text: textPart ? decodeBody(textPart) : '' };
}

/** http(s) URLs in a text, without punctuation that ends a sentence. */
export function findLinks(text: string): string[] {
  return (text.match(/https?:\/\/[^\s<>"']+/g) ?? []).map((link) => link.replace(/[.,;:!?)\]]+$/, ''));
}
