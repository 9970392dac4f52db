// The visible language switch; the choice is kept for the next visit.

import { useI18n } from '../i18n';
import { catalogues, language_names, type Language } from '../i18n/catalogue';

export function LanguageSwitch() {
  const { t, language, setLanguage } = useI18n();
  return (
    <label class="language-switch">
      <span>{t.language}</span>
      <select
        value={language}
        onChange={(event) => setLanguage(event.currentTarget.value as Language)}
      >
        {(Object.keys(catalogues) as Language[]).map((code) => (
          <option key={code} value={code} lang={code}>
            {language_names[code]}
          </option>
        ))}
      </select>
    </label>
  );
}
