import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMailer, type Mailer, type MailMessage } from '../../src/mail/mailer.ts';
import { createMailRenderer, mailTemplates } from '../../src/mail/templates.ts';
import { createCatalogue } from '../../src/i18n/catalogue.ts';
import { captureLogs } from '../helpers/app.ts';
import { freePort } from '../helpers/ports.ts';
import { decodeEncodedWords, decodeQuotedPrintable, findLinks, parseMessage, startSmtpServer } from '../helpers/smtp.ts';

const FROM = 'Sign-in <no-reply@id.example.com>';
// Longer than a 76-character quoted-printable line, with `=` (encoded as =3D) and `&` in it.
const LONG_LINK = `https://id.example.com/account/verify?token=${'Zm9vYmFyYmF6cXV4'.repeat(6)}==&next=%2Fconsent%3Fa%3D1&lang=en`;

const message = (overrides: Partial<MailMessage> = {}): MailMessage => ({
  to: 'ada@example.org',
  subject: 'Confirm your email address',
  text: `Hi,\n\nOpen this link:\n\n${LONG_LINK}\n\nThanks.\n`,
  html: `<p>Open <a href="${LONG_LINK.replace(/&/g, '&amp;')}">this link</a>.</p>`,
  ...overrides,
});

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'idp-mail-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const events = (lines: Array<Record<string, unknown>>, event: string) => lines.filter((line) => line.event === event);

describe('mailer over SMTP', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  const open: Mailer[] = [];
  beforeAll(async () => {
    smtp = await startSmtpServer();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((mailer) => mailer.close()));
    smtp.messages.length = 0;
  });
  afterAll(async () => {
    await smtp.close();
  });
  const mailerFor = async (smtpUrl: string, extra: { closeTimeoutMs?: number } = {}) => {
    const logs = captureLogs();
    const mailer = createMailer({ smtpUrl, from: FROM, dataDir: await tempDir(), logger: logs.logger, ...extra });
    open.push(mailer);
    return { mailer, lines: logs.lines };
  };

  it('delivers a message whose long link survives quoted-printable line breaks', async () => {
    expect(LONG_LINK.length).toBeGreaterThan(76);
    const { mailer, lines } = await mailerFor(smtp.url);
    expect(mailer.mode).toBe('smtp');
    await mailer.send(message());

    expect(smtp.messages).toHaveLength(1);
    const mail = smtp.messages[0]!;
    expect(mail.from).toBe('no-reply@id.example.com');
    expect(mail.to).toEqual(['ada@example.org']);
    expect(mail.subject).toBe('Confirm your email address');
    // On the wire the link is cut by soft line breaks and its `=` is escaped …
    expect(mail.raw).toContain('Content-Transfer-Encoding: quoted-printable');
    expect(mail.raw).toMatch(/=\r\n/);
    expect(mail.raw).toContain('=3D');
    expect(mail.raw).not.toContain(LONG_LINK);
    // … and decoded it is whole again.
    expect(mail.text).toContain(LONG_LINK);
    expect(mail.links).toEqual([LONG_LINK]);
    expect(mail.raw).toContain('Content-Type: multipart/alternative');
    expect(mail.raw).toContain('Content-Type: text/html');

    const sent = events(lines, 'mail.sent');
    expect(sent).toEqual([expect.objectContaining({ level: 30, to: 'ada@example.org', subject: 'Confirm your email address' })]);
    expect(sent[0]).not.toHaveProperty('text');
    expect(JSON.stringify(lines)).not.toContain('Zm9vYmFy'); // no body in the logs in smtp mode
  });

  it('delivers RFC 2047 encoded subjects and base64 bodies that the test server decodes', async () => {
    const { mailer } = await mailerFor(smtp.url);
    const subject = 'Réinitialisez votre mot de passe — un sujet assez long pour être plié en plusieurs mots encodés';
    // Mostly non-ASCII: nodemailer picks base64 over quoted-printable for such a part.
    const link = 'https://id.example.com/r?a=1&b=2';
    const text = `${'日本語のテキスト'.repeat(12)}\n${link}\n`;
    await mailer.send(message({ subject, text }));
    const mail = await smtp.waitFor((caught) => caught.subject === subject);
    expect(mail.raw).toMatch(/^Subject: =\?UTF-8\?[BQ]\?/m);
    expect(mail.raw).toContain('Content-Transfer-Encoding: base64');
    expect(mail.text).toBe(text);
    expect(mail.links).toEqual([link]);
  });

  it('authenticates when the URL carries credentials', async () => {
    const { mailer } = await mailerFor(smtp.url.replace('smtp://', 'smtp://mailer:s%3Dcret@'));
    await mailer.send(message({ to: 'grace@example.org' }));
    await expect(smtp.waitFor((mail) => mail.to.includes('grace@example.org'))).resolves.toBeDefined();
  });

  it('sendInBackground returns before the server acknowledges the message, which arrives later', async () => {
    // Shown by order, not by a time bound: the server keeps the message unacknowledged until
    // released, and the caller has its answer long before that.
    const held = await startSmtpServer({ hold: true });
    try {
      const { mailer, lines } = await mailerFor(held.url);
      const result = mailer.sendInBackground(message({ to: 'bg@example.org' }), { flow: 'verify-email' });
      expect(result).toBeUndefined(); // nothing to await
      expect(held.messages).toHaveLength(0); // nothing could have been delivered synchronously

      const mail = await held.waitFor((caught) => caught.to.includes('bg@example.org'));
      expect(mail.links).toEqual([LONG_LINK]);
      expect(events(lines, 'mail.sent')).toHaveLength(0); // received, not yet acknowledged
      held.release();
      await vi.waitFor(() => expect(events(lines, 'mail.sent')).toEqual([expect.objectContaining({ to: 'bg@example.org', flow: 'verify-email' })]));
      await mailer.close();
    } finally {
      await held.close();
    }
  });

  it('send rejects and sendInBackground logs mail.failed when the SMTP server is unreachable', async () => {
    const closedPort = await freePort();
    const { mailer, lines } = await mailerFor(`smtp://127.0.0.1:${closedPort}`);

    await expect(mailer.send(message({ to: 'down@example.org' }))).rejects.toThrow();
    expect(events(lines, 'mail.failed')).toEqual([expect.objectContaining({ level: 40, to: 'down@example.org', subject: 'Confirm your email address', err: expect.any(String) })]);

    expect(() => mailer.sendInBackground(message({ to: 'later@example.org' }), { flow: 'reset-password' })).not.toThrow();
    await vi.waitFor(() => expect(events(lines, 'mail.failed')).toHaveLength(2));
    const failed = events(lines, 'mail.failed')[1]!;
    expect(failed).toMatchObject({ level: 40, to: 'later@example.org', flow: 'reset-password' });
    expect(typeof failed.err).toBe('string'); // the message only, no stack or error object
    expect(String(failed.err)).toMatch(/ECONNREFUSED|connect/i);
    expect(events(lines, 'mail.sent')).toHaveLength(0);
  });

  it('refuses a recipient that is not one plain address', async () => {
    const { mailer, lines } = await mailerFor(smtp.url);
    for (const to of ['ada@example.org, eve@example.net', 'Eve <eve@example.net>', 'ada@example.org\r\nBcc: eve@example.net', 'not-an-address']) {
      await expect(mailer.send(message({ to }))).rejects.toThrow(/single plain email address/);
    }
    expect(events(lines, 'mail.failed')).toHaveLength(4);
    expect(smtp.messages).toHaveLength(0);
  });

  it('close() waits for background sends still in flight', async () => {
    const slow = await startSmtpServer({ hold: true });
    try {
      // A bound far beyond any stall, so only the held message can keep close() waiting.
      const { mailer, lines } = await mailerFor(slow.url, { closeTimeoutMs: 60_000 });
      mailer.sendInBackground(message({ to: 'slow@example.org' }));
      let closed = false;
      const closing = mailer.close().then(() => {
        closed = true;
      });
      // The message reaches the server (several round trips) while close() is pending; it must
      // still be pending then, and settle only once the server has acknowledged.
      await slow.waitFor((mail) => mail.to.includes('slow@example.org'));
      expect(closed).toBe(false);
      slow.release();
      await closing;
      // Delivered and acknowledged by the time close() resolved.
      expect(slow.messages.map((mail) => mail.to)).toEqual([['slow@example.org']]);
      expect(events(lines, 'mail.sent')).toHaveLength(1);
      await expect(mailer.send(message())).rejects.toThrow(/closed/);
      mailer.sendInBackground(message({ to: 'late@example.org' }));
      await vi.waitFor(() => expect(events(lines, 'mail.failed').map((line) => line.err)).toEqual(['mailer is closed', 'mailer is closed']));
      expect(slow.messages).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  it('close() gives up waiting after its bound', async () => {
    // The server never acknowledges while close() runs: that close() settles at all is the point.
    const stuck = await startSmtpServer({ hold: true });
    try {
      const { mailer, lines } = await mailerFor(stuck.url, { closeTimeoutMs: 200 });
      mailer.sendInBackground(message({ to: 'stuck@example.org' }));
      await stuck.waitFor((mail) => mail.to.includes('stuck@example.org'));
      await mailer.close();
      expect(events(lines, 'mail.close_timeout')).toEqual([expect.objectContaining({ level: 40, pending: 1 })]);
      expect(events(lines, 'mail.sent')).toHaveLength(0); // still held when close() gave up
    } finally {
      stuck.release();
      await stuck.close();
    }
  });
});

describe('mailer outbox (development)', () => {
  it('writes the raw message to <dataDir>/outbox and logs the text', async () => {
    const dataDir = await tempDir();
    const { logger, lines } = captureLogs();
    const mailer = createMailer({ from: FROM, dataDir, logger });
    expect(mailer.mode).toBe('outbox');
    await mailer.send(message());
    await mailer.close();

    const outbox = join(dataDir, 'outbox');
    const files = await readdir(outbox);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{4}-\d{2}-\d{2}T[\d-]+Z-[0-9a-f]{8}\.eml$/);
    const file = join(outbox, files[0]!);
    if (process.platform !== 'win32') {
      expect((await stat(outbox)).mode & 0o777).toBe(0o700);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    }
    const raw = await readFile(file);
    expect(raw.toString()).toMatch(/^From: "Sign-in" <no-reply@id\.example\.com>\r$/m);
    expect(raw.toString()).toMatch(/^To: ada@example\.org\r$/m);
    const parsed = parseMessage(raw);
    expect(parsed.subject).toBe('Confirm your email address');
    expect(findLinks(parsed.text)).toEqual([LONG_LINK]);

    expect(events(lines, 'mail.outbox')).toEqual([
      expect.objectContaining({ level: 30, to: 'ada@example.org', subject: 'Confirm your email address', file, text: message().text }),
    ]);
    expect(events(lines, 'mail.sent')).toHaveLength(1);
  });

  it('logs mail.failed and does not throw from sendInBackground when the outbox cannot be written', async () => {
    const dataDir = join(await tempDir(), 'missing\0dir'); // a NUL byte makes every fs call fail
    const { logger, lines } = captureLogs();
    const mailer = createMailer({ from: FROM, dataDir, logger });
    mailer.sendInBackground(message());
    await mailer.close();
    expect(events(lines, 'mail.failed')).toEqual([expect.objectContaining({ level: 40, err: expect.any(String) })]);
  });
});

describe('mail templates', () => {
  const render = createMailRenderer({ productName: 'Sign-in', catalogue: createCatalogue() });
  const samples = {
    'verify-email': { name: 'Ada', link: LONG_LINK, expiresInSeconds: 86_400 },
    'reset-password': { link: LONG_LINK, expiresInSeconds: 1800 },
    'registration-attempt': { loginUrl: 'https://app.example.com/login?from=id&x=1' },
    'password-changed': { when: Date.UTC(2025, 2, 4, 10, 20) },
  } as const;

  it.each(mailTemplates)('%s renders a subject, a text part and a standalone HTML part', (template) => {
    const mail = render(template, samples[template]);
    expect(mail.subject).toMatch(/^[^\r\n<>]+$/);
    expect(mail.text).toContain('Sign-in');
    expect(mail.text).not.toMatch(/&amp;|&lt;|&#/); // the text part is not HTML-escaped
    expect(mail.html).toMatch(/^<!doctype html>/i);
    expect(mail.html).toContain('</html>');
    expect(mail.html).toContain('Sign-in');
    expect(mail.html).toContain(`<title>${mail.subject}</title>`);
    expect(mail.html).not.toMatch(/<script|<link|<img|<style|src=|url\(/i); // inline styles only, nothing fetched
  });

  it('verify-email: link, expiry, what to do if it was not you', () => {
    const mail = render('verify-email', samples['verify-email']);
    expect(mail.subject).toBe('Confirm your email address');
    expect(mail.text).toContain('Hi Ada,');
    expect(findLinks(mail.text)).toEqual([LONG_LINK]);
    expect(mail.text).toContain('24 hours');
    expect(mail.text).toMatch(/did not sign up/);
    expect(mail.html).toContain(`href="${LONG_LINK.replace(/&/g, '&amp;')}"`);
    expect(render('verify-email', { link: LONG_LINK, expiresInSeconds: 3600 }).text).toMatch(/^Hi,$/m);
    expect(render('verify-email', { name: null, link: LONG_LINK, expiresInSeconds: 3600 }).text).toContain('1 hour.');
  });

  it('verify-email: HTML-escapes the name and keeps it to one short line in the text', () => {
    const name = '<script>alert(1)</script>\r\nVisit https://evil.example now';
    const mail = render('verify-email', { name, link: LONG_LINK, expiresInSeconds: 86_400 });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail.text).not.toMatch(/^Visit/m);
    const greeting = mail.text.split('\n')[0]!;
    expect(greeting).toMatch(/^Hi <script>alert\(1\)<\/script> Visit .*…,$/);
    expect([...greeting.slice('Hi '.length, -','.length)]).toHaveLength(41); // 40 characters and the ellipsis
  });

  it('reset-password: single-use link, expiry, password unchanged', () => {
    const mail = render('reset-password', samples['reset-password']);
    expect(mail.subject).toBe('Reset your password');
    expect(findLinks(mail.text)).toEqual([LONG_LINK]);
    expect(mail.text).toContain('30 minutes');
    expect(mail.text).toMatch(/works once/);
    expect(mail.text).toMatch(/did not ask/);
    expect(mail.text).toMatch(/stays unchanged until you choose a new one/);
    expect(mail.html).toContain(`href="${LONG_LINK.replace(/&/g, '&amp;')}"`);
  });

  it('registration-attempt: nothing changed, sign in or reset, with or without a login URL', () => {
    const mail = render('registration-attempt', samples['registration-attempt']);
    expect(mail.subject).toBe('Someone tried to create an account with your email');
    expect(mail.text).toMatch(/Nothing was changed/);
    expect(mail.text).toMatch(/already have an account/);
    expect(mail.text).toMatch(/reset your password/);
    expect(mail.text).toMatch(/ignore this email/);
    expect(findLinks(mail.text)).toEqual(['https://app.example.com/login?from=id&x=1']);
    expect(mail.html).toContain('href="https://app.example.com/login?from=id&amp;x=1"');
    const bare = render('registration-attempt', {});
    expect(findLinks(bare.text)).toEqual([]);
    expect(bare.html).not.toContain('href=');
  });

  it('password-changed: when, signed out everywhere, what to do if it was not you', () => {
    const mail = render('password-changed', { when: Date.UTC(2025, 2, 4, 10, 20) });
    expect(mail.subject).toBe('Your password was changed');
    // In the reader's language and in UTC: the mail does not know the reader's time zone.
    expect(mail.text).toContain('March 4, 2025');
    expect(render('password-changed', { when: Date.UTC(2025, 2, 4, 10, 20) }, 'de').text).toContain('4. März 2025');
    expect(() => render('password-changed', { when: '<b>2025-03-04</b>' })).toThrow(/when/);
    expect(mail.text).toMatch(/Every session was signed out/);
    expect(mail.text).toMatch(/reset your password at once/);
    expect(mail.text).toMatch(/administrator/);
  });

  it('refuses links that are not absolute http(s) URLs and missing fields', () => {
    expect(() => render('verify-email', { link: 'javascript:alert(1)', expiresInSeconds: 3600 })).toThrow(/http\(s\) URL/);
    expect(() => render('reset-password', { link: '/relative', expiresInSeconds: 1800 })).toThrow(/http\(s\) URL/);
    expect(() => render('reset-password', { link: LONG_LINK })).toThrow(/expiresInSeconds/);
    expect(() => render('password-changed', {})).toThrow(/when/);
  });

  it('data cannot replace the product name or the subject', () => {
    const mail = render('password-changed', { when: Date.now(), productName: 'Evil', subject: 'Evil' });
    expect(mail.subject).toBe('Your password was changed');
    expect(mail.text).not.toContain('Evil');
    expect(mail.html).not.toContain('Evil');
  });

  it('rendered mail goes through SMTP with its links intact', async () => {
    const smtp = await startSmtpServer();
    const { logger } = captureLogs();
    const mailer = createMailer({ smtpUrl: smtp.url, from: FROM, dataDir: await tempDir(), logger });
    try {
      await mailer.send({ to: 'ada@example.org', ...render('reset-password', samples['reset-password']) });
      const [mail] = smtp.messages;
      expect(mail?.subject).toBe('Reset your password');
      expect(mail?.links).toEqual([LONG_LINK]);
      expect(mail?.text).toContain('-- \nSign-in'); // signature separator kept, trailing space included
    } finally {
      await mailer.close();
      await smtp.close();
    }
  });
});

describe('test SMTP helper MIME decoding', () => {
  it('decodes quoted-printable soft line breaks, escapes and trailing white space', () => {
    expect(decodeQuotedPrintable('a=3Db&c=\r\nd   \r\ne=20\r\nf=C3=A9').toString('utf8')).toBe('a=b&cd\r\ne \r\nfé');
    expect(decodeQuotedPrintable('broken =ZZ and =\nsoft').toString('utf8')).toBe('broken =ZZ and soft');
  });

  it('decodes RFC 2047 words, joining adjacent ones and characters split across them', () => {
    expect(decodeEncodedWords('=?UTF-8?Q?R=C3=A9initialiser_le_?= =?UTF-8?Q?mot_de_passe?=')).toBe('Réinitialiser le mot de passe');
    expect(decodeEncodedWords('=?utf-8?B?5pel5pys?=\r\n =?utf-8?B?6Kqe?= plain')).toBe('日本語 plain');
    // "é" is C3 A9; a word boundary in the middle of it must not break it.
    expect(decodeEncodedWords('=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?=')).toBe('café');
    expect(decodeEncodedWords('=?ISO-8859-1?Q?caf=E9?= ok')).toBe('café ok');
    expect(decodeEncodedWords('no words here')).toBe('no words here');
  });

  it('reads what nodemailer produces: text only, multipart/alternative, quoted-printable and base64', async () => {
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
    const build = async (fields: { subject: string; text: string; html?: string }) => {
      const info = await transport.sendMail({ from: FROM, to: 'ada@example.org', ...fields });
      return info.message as Buffer;
    };
    // A single-part message: nodemailer ends it with a line break, which is then part of the body.
    const textOnly = parseMessage(await build({ subject: 'Plain', text: `short ${LONG_LINK}` }));
    expect(textOnly).toEqual({ subject: 'Plain', text: `short ${LONG_LINK}\n` });

    const accented = `Héllo — ${LONG_LINK}\n`;
    const qp = parseMessage(await build({ subject: 'Ça marche très bien, merci beaucoup pour votre patience — vraiment', text: accented, html: '<p>x</p>' }));
    expect(qp).toEqual({ subject: 'Ça marche très bien, merci beaucoup pour votre patience — vraiment', text: accented });

    const cjk = `${'日本語のテキスト'.repeat(20)}\n`;
    const b64 = await build({ subject: '日本語', text: cjk, html: `<p>${cjk}</p>` });
    expect(b64.toString()).toContain('Content-Transfer-Encoding: base64');
    expect(parseMessage(b64)).toEqual({ subject: '日本語', text: cjk });
  });

  it('finds links without sentence punctuation', () => {
    expect(findLinks('Go to https://a.example/x?y=1&z=2. Or (http://b.example/path), done')).toEqual(['https://a.example/x?y=1&z=2', 'http://b.example/path']);
  });
});
