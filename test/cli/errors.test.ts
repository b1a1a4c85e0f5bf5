import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.ts';
import { AppError } from '../../src/errors.ts';
import { describeFailure, formatFailure } from '../../src/cli/errors.ts';
import { table } from '../../src/cli/output.ts';

describe('describeFailure', () => {
  it('treats help and version as success', () => {
    expect(describeFailure(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)')).exitCode).toBe(0);
  });

  it('turns commander usage errors into exit 2 with one line and no "error:" prefix', () => {
    const failure = describeFailure(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--emial'\n(Did you mean --email?)"));
    expect(failure).toEqual({ exitCode: 2, code: 'commander.unknownOption', message: "unknown option '--emial' (Did you mean --email?)" });
  });

  it('names the command whose subcommand is missing', () => {
    expect(describeFailure(new CommanderError(1, 'commander.help', '(outputHelp)'), 'idp role')).toMatchObject({ exitCode: 2, message: 'missing command; see idp role --help' });
  });

  it('exits 2 for client errors and configuration errors, 1 for server errors and the unexpected', () => {
    expect(describeFailure(new AppError('client.not_found', 'no client with id x'))).toEqual({ exitCode: 2, code: 'client.not_found', message: 'no client with id x' });
    expect(describeFailure(new AppError('account.invalid_password', 'bad'))).toMatchObject({ exitCode: 2 });
    expect(describeFailure(new ConfigError('invalid configuration: port: bad'))).toMatchObject({ exitCode: 2, code: 'config.invalid' });
    expect(describeFailure(new AppError('server_error', 'broken'))).toMatchObject({ exitCode: 1, code: 'server_error' });
    expect(describeFailure(new TypeError('boom\n  at somewhere'))).toEqual({ exitCode: 1, code: 'internal', message: 'boom at somewhere' });
  });

  it('explains an AggregateError without a message by its parts', () => {
    const refused = new AggregateError([new Error('connect ECONNREFUSED ::1:5432'), new Error('connect ECONNREFUSED 127.0.0.1:5432')]);
    expect(describeFailure(refused).message).toBe('connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432');
  });
});

describe('formatFailure', () => {
  const failure = { exitCode: 2, code: 'role.not_found', message: 'no role named x' };

  it('prints idp: message, or the HTTP API error shape with --json', () => {
    expect(formatFailure(failure, false)).toBe('idp: no role named x');
    expect(JSON.parse(formatFailure(failure, true))).toEqual({ error: 'role.not_found', error_description: 'no role named x' });
  });
});

describe('table', () => {
  it('aligns columns and shows empty cells as "-"', () => {
    expect(table(['ID', 'NAME', 'TYPE'], [['web', 'Web app', 'confidential'], ['spa', '', 'public']])).toBe(
      ['ID   NAME     TYPE', 'web  Web app  confidential', 'spa  -        public'].join('\n'),
    );
  });
});
