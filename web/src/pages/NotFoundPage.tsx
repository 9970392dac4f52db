import { useI18n } from '../i18n';
import { useDocumentTitle } from '../lib/hooks';
import { paths } from '../lib/router';

export function NotFoundPage() {
  const { t } = useI18n();
  useDocumentTitle(t.not_found_title, t.site_name);
  return (
    <>
      <h1 tabIndex={-1}>{t.not_found_title}</h1>
      <p>{t.not_found_text}</p>
      <p>
        <a href={paths.events()}>{t.back_to_events}</a>
      </p>
    </>
  );
}
