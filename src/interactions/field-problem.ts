import type { Translate } from '../i18n/catalogue.ts';
import type { FieldProblem } from '../accounts/self-service.ts';

/** A service's field problem in the page's words (`problems.<code>` in the catalogue). */
export function problemInWords(t: Translate, problem: FieldProblem): { field: FieldProblem['field']; message: string } {
  return { field: problem.field, message: t(`problems.${problem.code}`, problem.params ?? {}) };
}
