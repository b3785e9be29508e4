/**
 * Server errors mapped onto a form: each detail's JSON pointer (`/endAt`, `/frequencyCaps/0/count`) goes to the
 * field that owns it; what belongs to no field is shown at the top of the form.
 */
import { ApiError, type ErrorDetail } from './api.ts';

export interface FormErrors {
  /** Messages by JSON pointer, exactly as the server sent them. */
  readonly byPath: ReadonlyMap<string, readonly string[]>;
  /** The request-level message and details without a field. */
  readonly general: readonly string[];
}

export const NO_ERRORS: FormErrors = { byPath: new Map(), general: [] };

const HUMAN: Record<string, string> = {
  MQ_ERR_CONFLICT: 'Someone else changed this while you were editing. Your changes are kept: reload to merge them.',
  MQ_ERR_FORBIDDEN: 'You are not allowed to do this.',
  NETWORK: 'Marquee cannot be reached. Your changes are kept; try again.',
};

export function toFormErrors(error: unknown): FormErrors {
  if (!(error instanceof ApiError)) return { byPath: new Map(), general: [String((error as Error)?.message ?? error)] };
  const byPath = new Map<string, string[]>();
  const general: string[] = [];
  for (const d of error.details) {
    if (!d.path || d.path === '/') general.push(d.message);
    else byPath.set(d.path, [...(byPath.get(d.path) ?? []), describe(d)]);
  }
  general.unshift(HUMAN[error.code] ?? error.message);
  return { byPath, general };
}

function describe(d: ErrorDetail): string {
  return d.message;
}

/** Messages for a field: its own pointer and everything below it (`/targeting` collects `/targeting/and/0/values`). */
export function errorsAt(errors: FormErrors, pointer: string): string[] {
  const out: string[] = [];
  for (const [path, messages] of errors.byPath) {
    if (path === pointer || path.startsWith(`${pointer}/`)) out.push(...messages);
  }
  return out;
}

/** Details whose pointer matches none of the form's fields (shown in the summary so nothing is lost). */
export function unplaced(errors: FormErrors, pointers: readonly string[]): string[] {
  const out: string[] = [];
  for (const [path, messages] of errors.byPath) {
    if (!pointers.some((p) => path === p || path.startsWith(`${p}/`)))
      out.push(...messages.map((m) => `${path}: ${m}`));
  }
  return out;
}
