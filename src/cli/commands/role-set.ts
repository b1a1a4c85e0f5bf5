import { Option, type Command } from 'commander';
import { collect } from '../options.ts';

/** The options of a command that replaces a holder's roles: `--role R` (repeatable) or `--none`. */
export interface RoleSetOptions {
  role: string[];
  none?: boolean;
}

/** Adds `--role <role>` (repeatable) and `--none`, which cannot be combined. */
export function addRoleSetOptions(command: Command, holder: string): Command {
  return command
    .option('--role <role>', `role the ${holder} holds directly (repeatable; replaces the current set)`, collect, [])
    .addOption(new Option('--none', `remove every role the ${holder} holds directly`).conflicts('role'));
}

/**
 * The role names to set, or a usage error (exit 2) when neither `--role` nor `--none` was given:
 * forgetting `--role` must not silently strip every role.
 */
export function chosenRoles(command: Command, opts: RoleSetOptions): string[] {
  if (!opts.none && opts.role.length === 0) {
    command.error('give --role at least once, or --none to remove every role', { exitCode: 2, code: 'commander.missingRoles' });
  }
  return opts.none ? [] : opts.role;
}
