import { InvalidArgumentError, type Command } from 'commander';
import { eventPatternProblem } from '../../events/event-types.ts';
import { webhookView, type WebhookView } from '../../events/webhooks/view.ts';
import type { StoredWebhook } from '../../events/webhooks/repository.ts';
import type { CliContext } from '../context.ts';
import { commaList } from '../options.ts';
import { emit, table } from '../output.ts';

const ACTOR = 'cli';

/** `--events login.*,account.locked`: names and prefixes, each one that matches some event; '' is every event. */
export function eventPatterns(value: string): string[] {
  const patterns = commaList(value);
  for (const pattern of patterns) {
    const problem = eventPatternProblem(pattern);
    if (problem) throw new InvalidArgumentError(problem);
  }
  return patterns;
}

function trueOrFalse(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError('expected true or false');
}

const eventsOf = (view: WebhookView): string => (view.events.length ? view.events.join(',') : 'all events');

function describe(view: WebhookView): string {
  return [
    `webhook ${view.id}${view.enabled ? '' : ' (disabled)'}${view.description ? `: ${view.description}` : ''}`,
    `  url:     ${view.url}`,
    `  events:  ${eventsOf(view)}`,
    `  created: ${view.createdAt}, updated: ${view.updatedAt}`,
    ...(view.previousSecretSignsUntil ? [`  the previous secret also signs until ${view.previousSecretSignsUntil}`] : []),
  ].join('\n');
}

const SECRET_NOTE = '(shown only this once; give it to the receiver, which verifies each delivery with it)';

export function registerWebhookCommands(program: Command, ctx: CliContext): void {
  const webhook = program.command('webhook').description('deliver audit events to URLs as signed JSON (Standard Webhooks)');
  const show = (stored: StoredWebhook) => webhookView(stored, Date.now());

  webhook.command('create')
    .description('add a webhook; its signing secret is shown once')
    .requiredOption('--url <url>', 'where deliveries are POSTed: https (http only on 127.0.0.1, [::1] or localhost)')
    .option('--events <list>', 'comma-separated event names and prefixes, e.g. login.failed,account.locked,mfa.* (default: every event)', eventPatterns)
    .option('--description <text>', 'what it is for')
    .option('--json', 'print JSON')
    .action(async (opts: { url: string; events?: string[]; description?: string; json?: boolean }) => {
      const { webhook: created, secret } = await ctx.withDeps((deps) => deps.webhooks.create({ url: opts.url, events: opts.events, description: opts.description }, ACTOR));
      const view = show(created);
      emit(ctx.io, opts.json, { webhook: view, secret }, `created ${describe(view)}\nsigning secret ${SECRET_NOTE}: ${secret}`);
    });

  webhook.command('list')
    .description('list the webhooks (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const views = (await ctx.withDeps((deps) => deps.webhooks.list())).map(show);
      const human = views.length
        ? table(['ID', 'ENABLED', 'URL', 'EVENTS', 'DESCRIPTION'], views.map((view) => [view.id, view.enabled ? 'yes' : 'no', view.url, eventsOf(view), view.description ?? '']))
        : 'no webhooks';
      emit(ctx.io, opts.json, { webhooks: views }, human);
    });

  webhook.command('show')
    .description('show one webhook (never its secret)')
    .requiredOption('--id <id>', 'webhook id, from webhook list')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; json?: boolean }) => {
      const view = show(await ctx.withDeps((deps) => deps.webhooks.get(opts.id)));
      emit(ctx.io, opts.json, { webhook: view }, describe(view));
    });

  webhook.command('update')
    .description('change a webhook: only what is given changes')
    .requiredOption('--id <id>', 'webhook id, from webhook list')
    .option('--url <url>', 'where deliveries are POSTed')
    .option('--events <list>', "comma-separated event names and prefixes; '' for every event", eventPatterns)
    .option('--description <text>', "what it is for; '' removes it")
    .option('--enabled <true|false>', 'deliver (true) or stop delivering (false)', trueOrFalse)
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; url?: string; events?: string[]; description?: string; enabled?: boolean; json?: boolean }) => {
      const description = opts.description === undefined ? undefined : opts.description.trim() || null;
      const updated = await ctx.withDeps((deps) => deps.webhooks.update(opts.id, { url: opts.url, events: opts.events, description, enabled: opts.enabled }, ACTOR));
      const view = show(updated);
      emit(ctx.io, opts.json, { webhook: view }, `updated ${describe(view)}`);
    });

  webhook.command('rotate-secret')
    .description('give a webhook a new signing secret, shown once; the previous one also signs for 24 hours, so the receiver can switch')
    .requiredOption('--id <id>', 'webhook id, from webhook list')
    .option('--now', 'stop signing with the previous secret at once (it leaked)')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; now?: boolean; json?: boolean }) => {
      const { webhook: rotated, secret } = await ctx.withDeps((deps) => deps.webhooks.rotateSecret(opts.id, { now: opts.now }, ACTOR));
      const view = show(rotated);
      const previous = view.previousSecretSignsUntil ? `; the previous one also signs until ${view.previousSecretSignsUntil}` : '; the previous one no longer signs';
      emit(ctx.io, opts.json, { webhook: view, secret }, `new signing secret for webhook ${view.id} ${SECRET_NOTE}: ${secret}\n${previous.slice(2)}`);
    });

  webhook.command('delete')
    .description('delete a webhook; deliveries still queued for it are dropped')
    .requiredOption('--id <id>', 'webhook id, from webhook list')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; json?: boolean }) => {
      await ctx.withDeps((deps) => deps.webhooks.delete(opts.id, ACTOR));
      emit(ctx.io, opts.json, { id: opts.id, deleted: true }, `deleted webhook ${opts.id}`);
    });

  webhook.command('test')
    .description('record a webhook.test event, delivered to this webhook only (whatever its filter, even while disabled)')
    .requiredOption('--id <id>', 'webhook id, from webhook list')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; json?: boolean }) => {
      const { eventId } = await ctx.withDeps((deps) => deps.webhooks.test(opts.id, ACTOR));
      emit(ctx.io, opts.json, { eventId }, `queued webhook.test event ${eventId} (webhook-id evt_${eventId}) for webhook ${opts.id}`);
    });
}
