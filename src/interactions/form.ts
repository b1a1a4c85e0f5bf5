import type { Context } from 'koa';
import { AppError } from '../errors.ts';
import type { Csrf } from './csrf.ts';

/** The posted form fields as strings (repeated fields keep their first value). */
export function formFields(ctx: Context): Record<string, string> {
  const body = (ctx.request as { body?: unknown }).body;
  const fields: Record<string, string> = {};
  if (body && typeof body === 'object') {
    for (const [key, value] of Object.entries(body)) {
      const first = Array.isArray(value) ? value[0] : value;
      if (typeof first === 'string') fields[key] = first;
    }
  }
  return fields;
}

export function requireCsrf(csrf: Csrf, uid: string, fields: Record<string, string>): void {
  if (!csrf.verify(uid, fields.csrf)) {
    throw new AppError('request.csrf', 'This form has expired or was not sent by this site. Go back and try again.');
  }
}
