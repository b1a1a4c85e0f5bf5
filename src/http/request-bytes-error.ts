import { AppError } from '../errors.ts';
import type { ErrorCode } from '../error-codes.ts';

/**
 * A request refused at the edge, before any route is matched (request-bytes.ts), so the caller
 * may be a browser or any protocol client. The error handler shows browsers the error page with
 * the dotted `code`; everyone else gets the JSON oidc-provider itself sends for a bad request:
 * `error` (the OAuth code, RFC 6749 §5.2) and `error_description`.
 */
export class RequestBytesError extends AppError {
  override name = 'RequestBytesError';
  readonly error = 'invalid_request';

  constructor(code: ErrorCode & `request.${string}`, detail: string) {
    super(code, detail);
  }

  get error_description(): string {
    return this.message;
  }
}
