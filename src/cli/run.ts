import type { Command } from 'commander';
import { createCliContext, type CliIo } from './context.ts';
import { describeFailure, formatFailure } from './errors.ts';
import { buildProgram } from './program.ts';

/** The words of argv that name commands, before the first option: ['user'] for `user --help`. */
function commandPath(program: Command, argv: string[]): string {
  const names = ['idp'];
  let command: Command | undefined = program;
  for (const arg of argv) {
    command = command.commands.find((sub) => sub.name() === arg);
    if (!command) break;
    names.push(arg);
  }
  return names.join(' ');
}

/** Runs one `idp` invocation and returns its exit code: 0 done, 2 bad input, 1 anything else. */
export async function run(argv: string[], options: { env: Record<string, string | undefined>; cwd: string; io: CliIo }): Promise<number> {
  const program = buildProgram(createCliContext(options));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const failure = describeFailure(error, commandPath(program, argv));
    if (failure.exitCode !== 0) {
      // A usage error can stop parsing before --json is read, so look at the words themselves.
      const end = argv.indexOf('--');
      const json = (end === -1 ? argv : argv.slice(0, end)).includes('--json');
      options.io.stderr(`${formatFailure(failure, json)}\n`);
    }
    return failure.exitCode;
  }
}
