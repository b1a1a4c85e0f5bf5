import { errorCodes, type ErrorCode } from './error-codes.ts';

/** Values a person-facing message may interpolate (`{{name}}` in the catalogue). */
export type ErrorParams = Record<string, string | number>;

/**
 * The one application error. `code` is stable and dotted (`account.not_found`) and names its
 * row in src/error-codes.ts, which gives the HTTP status and the words a person reads. `message`
 * is the detail for whoever called: an operator (admin API, CLI) or a client's developer (JSON);
 * pages show the catalogue's words and the detail only on their small "details" line.
 * Protocol errors inside oidc-provider use its own `errors.*` classes instead.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly params: ErrorParams;

  constructor(code: ErrorCode, detail?: string, params: ErrorParams = {}) {
    super(detail ?? code);
    this.code = code;
    this.status = errorCodes[code].status;
    this.params = params;
  }

  /** Only client errors carry a message safe to show; server errors are logged, not shown. */
  get expose(): boolean {
    return this.status < 500;
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;

/** PostgreSQL unique_violation, translated by repositories into a conflict. */
export const isUniqueViolation = (error: unknown): boolean => (error as { code?: string } | null)?.code === '23505';
export const isForeignKeyViolation = (error: unknown): boolean => (error as { code?: string } | null)?.code === '23503';
export const isCheckViolation = (error: unknown): boolean => (error as { code?: string } | null)?.code === '23514';
