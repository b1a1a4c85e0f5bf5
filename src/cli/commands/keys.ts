import { Option, type Command } from 'commander';
import { signingAlgorithms, type SigningAlg } from '../../oidc/keys/lifecycle.ts';
import { keyView, type KeyView } from '../../oidc/keys/view.ts';
import type { CliContext } from '../context.ts';
import { emit, table } from '../output.ts';

function keyTable(keys: KeyView[]): string {
  return table(['KID', 'ALG', 'STATE', 'CREATED', 'ACTIVATED', 'ROTATES', 'RETIRED', 'PUBLISHED UNTIL'], keys.map((key) => [
    key.kid, key.alg, key.state, key.createdAt,
    key.state === 'next' && key.activatedAt ? `from ${key.activatedAt}` : key.activatedAt ?? '',
    key.rotatesAt ?? '', key.retiredAt ?? '', key.publishedUntil ?? (key.state === 'removed' ? `removed ${key.removedAt ?? ''}` : ''),
  ]));
}

export function registerKeyCommands(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('signing keys: list, rotate and retire the keys that sign ID tokens and JWT access tokens');

  keys.command('list')
    .description('list the published signing keys (never their private parts), signing ones first')
    .option('--all', 'also the removed ones, no longer published')
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; json?: boolean }) => {
      const views = await ctx.withDeps(async (deps) => (await deps.signingKeys.list({ all: opts.all })).map((key) => keyView(key, deps.signingKeys.schedule)));
      emit(ctx.io, opts.json, { keys: views }, views.length ? keyTable(views) : 'no signing keys');
    });

  keys.command('rotate')
    .description('publish a next key for each algorithm (or --alg); it starts signing after the pre-publication time (SIGNING_KEY_PREPUBLISH_SECONDS), or at once with --now')
    .addOption(new Option('--alg <alg>', 'only this algorithm').choices(signingAlgorithms))
    .option('--now', 'sign with it at once (a published next key takes over); relying parties that cached the JWKS may not know it yet')
    .option('--json', 'print JSON')
    .action(async (opts: { alg?: SigningAlg; now?: boolean; json?: boolean }) => {
      const views = await ctx.withDeps(async (deps) => (await deps.signingKeys.rotate({ algs: opts.alg ? [opts.alg] : undefined, now: opts.now, actor: 'cli' })).map((key) => keyView(key, deps.signingKeys.schedule)));
      const human = views.map((key) => (key.state === 'active' ? `${key.alg} key ${key.kid} signs from now` : `published ${key.alg} key ${key.kid}; it signs from ${key.activatedAt}`)).join('\n');
      emit(ctx.io, opts.json, { keys: views }, human);
    });

  keys.command('retire')
    .description('stop a key signing: the next key of its algorithm takes over (an active key needs one); it stays published until every token it signed can have expired, or leaves at once with --now')
    .requiredOption('--kid <kid>', 'key id, from keys list')
    .option('--now', 'stop publishing it at once (a compromised key): tokens it signed stop verifying')
    .option('--json', 'print JSON')
    .action(async (opts: { kid: string; now?: boolean; json?: boolean }) => {
      const view = await ctx.withDeps(async (deps) => keyView(await deps.signingKeys.retire({ kid: opts.kid, now: opts.now, actor: 'cli' }), deps.signingKeys.schedule));
      const human = view.state === 'removed' ? `key ${view.kid} is no longer published` : `key ${view.kid} is retired; it is published until ${view.publishedUntil}`;
      emit(ctx.io, opts.json, { key: view }, human);
    });
}
