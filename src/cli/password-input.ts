import { AppError } from '../errors.ts';
import type { CliIo } from './context.ts';

export interface PasswordOptions {
  password?: string;
  passwordStdin?: boolean;
}

/**
 * The password of `user create` / `user set-password`: from --password, or from standard input
 * with --password-stdin, so it stays out of the shell history and the process list
 * (`printf '%s' "$PASS" | idp user set-password --email … --password-stdin`). One trailing line
 * break is dropped, as `echo` adds one; everything else is the password.
 */
export async function readPassword(opts: PasswordOptions, io: CliIo): Promise<string> {
  if (opts.password !== undefined && opts.passwordStdin) throw new AppError('cli.password_twice', 'give either --password or --password-stdin, not both');
  if (opts.password !== undefined) return opts.password;
  if (!opts.passwordStdin) throw new AppError('cli.password_missing', 'a password is required: --password <password>, or --password-stdin to read it from standard input');
  if (!io.stdin) throw new AppError('cli.password_missing', 'standard input cannot be read here; use --password');
  const password = (await io.stdin()).replace(/\r?\n$/, '');
  if (password === '') throw new AppError('cli.password_missing', '--password-stdin read an empty password from standard input');
  return password;
}
