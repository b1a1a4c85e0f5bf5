import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { emit } from '../output.ts';

export function registerMigrateCommand(program: Command, ctx: CliContext): void {
  program.command('migrate')
    .description('apply pending database migrations (every other command does this too)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const applied = await ctx.migrate();
      emit(ctx.io, opts.json, { applied }, applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
    });
}
