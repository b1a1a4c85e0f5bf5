import { describe, expect, it } from 'vitest';
import { matchLocale, negotiateLocale } from '../../src/i18n/negotiate.ts';
import { waitDuration, exactDuration } from '../../src/i18n/durations.ts';

const have = ['en', 'de', 'fr', 'es', 'ja', 'pt-BR'];

describe('choosing the language of a response', () => {
  it('matches exactly, then by base language, case-insensitively', () => {
    expect(matchLocale(have, 'DE')).toBe('de');
    expect(matchLocale(have, 'de-CH')).toBe('de');
    expect(matchLocale(have, 'pt')).toBe('pt-BR');
    expect(matchLocale(have, 'pt_PT')).toBe('pt-BR');
    expect(matchLocale(have, 'nl')).toBeNull();
    expect(matchLocale(have, '*')).toBeNull();
    expect(matchLocale(have, 'x'.repeat(100))).toBeNull();
  });

  it('takes the switch, then ui_locales in order, then the locale claim, then Accept-Language, then the default', () => {
    const all = { choice: 'es', uiLocales: 'nl fr', claim: 'ja', accepted: ['de'] };
    expect(negotiateLocale(have, 'en', all)).toBe('es');
    expect(negotiateLocale(have, 'en', { ...all, choice: null })).toBe('fr');
    expect(negotiateLocale(have, 'en', { ...all, choice: null, uiLocales: 'nl' })).toBe('ja');
    expect(negotiateLocale(have, 'en', { ...all, choice: null, uiLocales: '', claim: null })).toBe('de');
    expect(negotiateLocale(have, 'en', { accepted: ['nl', 'tlh'] })).toBe('en');
  });
});

describe('durations in words', () => {
  it('rounds waits up to a unit a person thinks in, in their language', () => {
    expect(waitDuration('en', 30)).toBe('30 seconds');
    expect(waitDuration('en', 600)).toBe('10 minutes');
    expect(waitDuration('de', 7200)).toBe('2 Stunden');
    expect(waitDuration('ja', 60)).toBe('60 秒');
  });

  it('states link lifetimes exactly', () => {
    expect(exactDuration('en', 86_400)).toBe('24 hours');
    expect(exactDuration('fr', 3 * 86_400)).toBe('3\u00a0jours'); // French puts a no-break space before the unit
    expect(exactDuration('es', 1800)).toBe('30 minutos');
  });
});
