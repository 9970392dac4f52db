// A failed call told in plain words, with a way to try again where trying again can help.

import { errorMessage, useI18n } from '../i18n';

export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  return (
    <div class="notice notice-error" role="alert">
      <p>{errorMessage(error, t)}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t.try_again}
        </button>
      )}
    </div>
  );
}
