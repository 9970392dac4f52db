// The frame of every page: a skip link, the header with the way home and the language switch,
// the page itself in <main>, and the panel the challenge widget appears in.

import type { ComponentChildren } from 'preact';
import { useI18n } from '../i18n';
import { paths } from '../lib/router';
import { ChallengePanel } from './ChallengePanel';
import { LanguageSwitch } from './LanguageSwitch';

export function Layout({ children }: { children: ComponentChildren }) {
  const { t } = useI18n();
  return (
    <>
      <a class="skip-link" href="#main">
        {t.skip_to_content}
      </a>
      <header class="site-header">
        <a class="site-name" href={paths.events()}>
          {t.site_name}
        </a>
        <LanguageSwitch />
      </header>
      <main id="main" tabIndex={-1}>
        <ChallengePanel />
        {children}
      </main>
    </>
  );
}
