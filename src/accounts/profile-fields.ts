import type { Account } from './repository.ts';

/** The profile claims a person edits themselves (OIDC Core §5.1 `name`, `given_name`, `family_name`, `picture`, `locale`). */
export type ProfileField = 'name' | 'givenName' | 'familyName' | 'picture' | 'locale';
export const PROFILE_FIELDS: readonly ProfileField[] = ['name', 'givenName', 'familyName', 'picture', 'locale'];

export type Profile = Pick<Account, ProfileField>;

/**
 * What was typed, field by field: a string (empty clears the claim; the locale's empty string is
 * "automatic") or undefined to leave the field as it is.
 */
export type ProfileInput = Partial<Record<ProfileField, string | undefined>>;

/**
 * Why a field was refused: `code` names the catalogue message (`account.profile.problems.<code>`),
 * `max` its limit where it has one.
 */
export type ProfileProblem = { field: ProfileField; code: 'too_long' | 'bad_characters' | 'picture_not_https' | 'picture_invalid' | 'locale_unknown'; max?: number };

export const TEXT_MAX = 200;
export const PICTURE_MAX = 2048;

/**
 * Characters no name needs and some abuse: controls (line breaks included, so a name stays one
 * line in a mail or a log), lone surrogates, and the bidirectional overrides and isolates that
 * make text read differently from how it is stored (Unicode TR #9; "Trojan Source", CVE-2021-42574).
 */
const BAD_CHARACTERS = /[\p{Cc}\p{Cs}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;

const length = (value: string) => [...value].length;

function text(field: ProfileField, typed: string): { value: string | null } | ProfileProblem {
  if (BAD_CHARACTERS.test(typed)) return { field, code: 'bad_characters' };
  // NFC: the same name typed on two keyboards is the same claim.
  const value = typed.trim().normalize('NFC');
  if (length(value) > TEXT_MAX) return { field, code: 'too_long', max: TEXT_MAX };
  return { value: value || null };
}

/**
 * An absolute https URL without credentials in it, as the `picture` claim is shown by
 * relying parties (an http or data: URL would be mixed content or a payload, not a picture).
 */
function picture(typed: string): { value: string | null } | ProfileProblem {
  const value = typed.trim();
  if (!value) return { value: null };
  if (BAD_CHARACTERS.test(value) || /\s/.test(value)) return { field: 'picture', code: 'bad_characters' };
  if (length(value) > PICTURE_MAX) return { field: 'picture', code: 'too_long', max: PICTURE_MAX };
  if (!/^https:\/\//i.test(value)) return { field: 'picture', code: 'picture_not_https' };
  if (!URL.canParse(value)) return { field: 'picture', code: 'picture_invalid' };
  const url = new URL(value);
  if (url.protocol !== 'https:' || !url.hostname || url.username || url.password) return { field: 'picture', code: 'picture_invalid' };
  // Stored as the URL parser writes it (host lowercased, IDN as punycode): what clients will fetch.
  if (url.href.length > PICTURE_MAX) return { field: 'picture', code: 'too_long', max: PICTURE_MAX };
  return { value: url.href };
}

/**
 * A language the pages can speak, or "automatic" (null: the browser's). A tag set by an
 * operator that the catalogue lacks stays valid for as long as it is kept unchanged.
 */
function locale(typed: string, locales: readonly string[], current: string | null): { value: string | null } | ProfileProblem {
  const value = typed.trim();
  if (!value) return { value: null };
  if (locales.includes(value) || value === current) return { value };
  return { field: 'locale', code: 'locale_unknown' };
}

/**
 * The profile that results from `input` applied to `current`, with the fields that change, or
 * every field's problem at once (the form marks each of them).
 */
export function applyProfileInput(current: Profile, input: ProfileInput, locales: readonly string[]): { ok: true; profile: Profile; changed: ProfileField[] } | { ok: false; problems: ProfileProblem[] } {
  const profile: Profile = { ...current };
  const problems: ProfileProblem[] = [];
  for (const field of PROFILE_FIELDS) {
    const typed = input[field];
    if (typed === undefined) continue;
    const result = field === 'picture' ? picture(typed) : field === 'locale' ? locale(typed, locales, current.locale) : text(field, typed);
    if ('code' in result) problems.push(result);
    else profile[field] = result.value;
  }
  if (problems.length) return { ok: false, problems };
  return { ok: true, profile, changed: PROFILE_FIELDS.filter((field) => profile[field] !== current[field]) };
}
