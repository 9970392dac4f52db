// The fan's language: the one they chose with the switch (kept in storage), else the first of
// the browser's languages this page speaks, else English. Also the formats that follow the
// language: money, dates and durations.

import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { readText, writeText } from '../lib/storage';
import { catalogues, type Language, type Messages } from './catalogue';

const kLanguageKey = 'boxoffice.language';

function isLanguage(value: string | null): value is Language {
  return value !== null && Object.hasOwn(catalogues, value);
}

export function initialLanguage(): Language {
  const chosen = readText(kLanguageKey);
  if (isLanguage(chosen)) return chosen;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0];
    if (isLanguage(base)) return base;
  }
  return 'en';
}

const locales: Record<Language, string> = { en: 'en-US', de: 'de-DE' };

export interface I18n {
  language: Language;
  t: Messages;
  setLanguage: (language: Language) => void;
  money: (cents: number, currency: string) => string;
  dateTime: (iso: string) => string;
  /** A wait in words: "about 3 minutes". */
  roughDuration: (seconds: number) => string;
  /** A countdown: "4 min 05 s". */
  clock: (seconds: number) => string;
}

function makeI18n(language: Language, setLanguage: (language: Language) => void): I18n {
  const locale = locales[language];
  const t = catalogues[language];
  const date_format = new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'short' });
  const money_formats = new Map<string, Intl.NumberFormat>();
  return {
    language,
    t,
    setLanguage,
    money(cents, currency) {
      let format = money_formats.get(currency);
      if (!format) {
        format = new Intl.NumberFormat(locale, { style: 'currency', currency });
        money_formats.set(currency, format);
      }
      // Minor units: every currency boxoffice sells in so far has two decimals.
      return format.format(cents / 100);
    },
    dateTime: (iso) => date_format.format(new Date(iso)),
    roughDuration(seconds) {
      if (seconds < 60) return t.duration_under_minute;
      return t.duration_about_minutes(Math.round(seconds / 60));
    },
    clock(seconds) {
      const whole = Math.max(0, Math.ceil(seconds));
      return t.duration_minutes_seconds(Math.floor(whole / 60), whole % 60);
    },
  };
}

const I18nContext = createContext<I18n>(makeI18n('en', () => {}));

export function I18nProvider({ children }: { children: ComponentChildren }) {
  const [language, setLanguageState] = useState<Language>(initialLanguage);
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);
  const value = useMemo(
    () =>
      makeI18n(language, (next) => {
        writeText(kLanguageKey, next);
        setLanguageState(next);
      }),
    [language],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}

/** What to tell the fan about a failed call, in their language. */
export function errorMessage(error: unknown, t: Messages): string {
  if (!(error instanceof ApiError)) return t.error_generic;
  if (error.status === 0) return t.error_network;
  const known = t.error_codes[error.code];
  if (known) return known;
  if ((error.status === 429 || error.status === 503) && error.retry_after_s !== null) {
    return t.error_busy(Math.ceil(error.retry_after_s));
  }
  return t.error_generic;
}
