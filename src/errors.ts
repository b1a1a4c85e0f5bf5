/**
 * The one application error. `code` is stable and dotted (`account.not_found`) so callers and
 * translations can rely on it; `status` is the HTTP status a handler renders. Protocol errors
 * inside oidc-provider use its own `errors.*` classes instead.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
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
