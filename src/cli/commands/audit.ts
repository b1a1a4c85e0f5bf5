import { InvalidArgumentError, type Command } from 'commander';
import { auditEventView, type AuditEventView } from '../../audit/view.ts';
import { passes } from '../../events/audit-feed.ts';
import type { CliContext } from '../context.ts';
import { emit, table } from '../output.ts';
import { eventPatterns } from './webhook.ts';

export { auditEventView, type AuditEventView };

const sinceFormats = 'expected an ISO 8601 date or date-time (2026-11-01, 2026-11-01T12:00:00Z) or a duration back from now (30s, 30m, 12h, 7d)';

const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

const isoPattern = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

const daysIn = (year: number, month: number): number =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/**
 * `--since`: an ISO 8601 date (midnight UTC), a date-time (UTC unless it carries an offset) or a
 * duration back from `now`. Rejects what Date would silently roll over, such as 2026-02-30.
 */
export function parseSince(value: string, now: Date = new Date()): Date {
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (relative) {
    const amount = Number(relative[1]);
    const since = new Date(now.getTime() - amount * unitMs[relative[2] as keyof typeof unitMs]);
    if (!Number.isSafeInteger(amount) || Number.isNaN(since.getTime())) throw new InvalidArgumentError(sinceFormats);
    return since;
  }
  const iso = isoPattern.exec(value);
  if (iso) {
    const [, year = '', month = '', day = '', hour = '00', minute = '00', second = '00', fraction = '', zone = 'Z'] = iso;
    const offset = /^[+-](\d{2}):(\d{2})$/.exec(zone);
    const valid = Number(month) >= 1 && Number(month) <= 12 && Number(day) >= 1 && Number(day) <= daysIn(Number(year), Number(month))
      && Number(hour) <= 23 && Number(minute) <= 59 && Number(second) <= 59
      && (!offset || (Number(offset[1]) <= 23 && Number(offset[2]) <= 59));
    // Date parses the normalised form exactly; milliseconds beyond three digits are dropped.
    const since = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}${fraction.slice(0, 4)}${zone.toUpperCase()}`);
    if (valid && !Number.isNaN(since.getTime())) return since;
  }
  throw new InvalidArgumentError(sinceFormats);
}

export const maxAuditLimit = 1000;

export function parseLimit(value: string): number {
  const limit = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= maxAuditLimit)) throw new InvalidArgumentError(`expected a whole number from 1 to ${maxAuditLimit}`);
  return limit;
}

export function registerAuditCommands(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('read the security audit trail');

  audit.command('list')
    .description('list audit events, newest first')
    .option('--email <email>', 'only events about this address (case-insensitive)')
    .option('--since <time>', 'only events since an ISO 8601 date or date-time (UTC unless it has an offset), or since a duration ago: 30s, 30m, 12h, 7d', (value: string) => parseSince(value))
    .option('--limit <n>', `at most this many events, 1 to ${maxAuditLimit}`, parseLimit, 100)
    .option('--json', 'print JSON')
    .action(async (opts: { email?: string; since?: Date; limit: number; json?: boolean }) => {
      const events = (await ctx.withDeps((deps) => deps.audit.list({ email: opts.email, since: opts.since, limit: opts.limit }))).map(auditEventView);
      const human = events.length
        ? table(['TIME', 'EVENT', 'REASON', 'EMAIL', 'ACCOUNT', 'IP'], events.map((e) => [e.occurredAt, e.event, e.reason ?? '', e.email ?? '', e.accountId ?? '', e.ip ?? '']))
        : 'no events';
      emit(ctx.io, opts.json, events, human);
    });

  audit.command('tail')
    .description('print each new audit event as it is recorded, until interrupted (Ctrl-C)')
    .option('--email <email>', 'only events about this address, or about the account that has it (case-insensitive)')
    .option('--events <list>', 'comma-separated event names and prefixes, e.g. login.failed,account.*', eventPatterns)
    .option('--json', 'print one JSON object per line')
    .action(async (opts: { email?: string; events?: string[]; json?: boolean }) => {
      await ctx.withDeps(async (deps) => {
        const account = opts.email ? await deps.accounts.findByEmail(opts.email) : null;
        const filter = { events: opts.events ?? [], email: opts.email, accountId: account?.id ?? null };
        const follower = deps.auditFeed.follow({
          after: await deps.auditFeed.latestId(),
          onEvent(event) {
            if (!passes(filter, event)) return;
            const view = auditEventView(event);
            ctx.io.stdout(`${opts.json ? JSON.stringify(view) : tailLine(view)}\n`);
          },
        });
        ctx.io.stderr('following the audit trail; Ctrl-C to stop\n');
        await interrupted();
        follower.close();
      });
    });
}

/** One event on one line: time, event, reason, email, account, address, details. */
function tailLine(view: AuditEventView): string {
  return [view.occurredAt, view.event, view.reason, view.email, view.accountId, view.ip, view.details ? JSON.stringify(view.details) : null]
    .map((cell) => cell || '-').join('  ');
}

/** Resolves on SIGINT or SIGTERM: tail runs until then, and closes what it opened. */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
