import { CommanderError } from 'commander';
import { ConfigError } from '../config/load.ts';
import { isAppError } from '../errors.ts';

/** How a failed command ends: exit 2 for anything the operator can fix in the command line. */
export interface Failure {
  exitCode: number;
  code: string;
  message: string;
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && !error.message) {
    // pg reports a refused connection to every resolved address as an AggregateError without a message.
    return error.errors.map(messageOf).join('; ');
  }
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}

/**
 * Classifies what a command threw. `usagePath` names the command whose subcommand is missing
 * (commander only says it showed help), e.g. "idp user".
 */
export function describeFailure(error: unknown, usagePath = 'idp'): Failure {
  if (error instanceof CommanderError) {
    // --help and `idp help` end through the same exception, successfully.
    if (error.exitCode === 0) return { exitCode: 0, code: error.code, message: '' };
    if (error.code === 'commander.help') return { exitCode: 2, code: 'commander.missingCommand', message: `missing command; see ${usagePath} --help` };
    return { exitCode: 2, code: error.code, message: oneLine(error.message.replace(/^error: /, '')) };
  }
  if (error instanceof ConfigError) return { exitCode: 2, code: 'config.invalid', message: oneLine(error.message) };
  if (isAppError(error)) return { exitCode: error.status < 500 ? 2 : 1, code: error.code, message: oneLine(error.message) };
  return { exitCode: 1, code: 'internal', message: oneLine(messageOf(error)) || 'unexpected error' };
}

/** One line for stderr: `idp: message`, or with --json the same JSON shape the HTTP API uses. */
export function formatFailure(failure: Failure, json: boolean): string {
  return json ? JSON.stringify({ error: failure.code, error_description: failure.message }) : `idp: ${failure.message}`;
}
