// Where the ALTCHA widget appears while it solves a challenge for a queue join or a hold. It
// registers itself as the API client's solver for as long as the page shows it.

import { useEffect, useRef, useState } from 'preact/hooks';
import { useI18n } from '../i18n';
import { registerChallengeSolver } from '../lib/challenge';
import { solveWithWidget } from '../lib/altcha';

export function ChallengePanel() {
  const { t, language } = useI18n();
  const host = useRef<HTMLDivElement>(null);
  const [solving, setSolving] = useState(false);
  // The solver is registered once; it reads the language at the time a challenge comes.
  const language_now = useRef(language);
  language_now.current = language;

  useEffect(
    () =>
      registerChallengeSolver(async (challenge, signal) => {
        setSolving(true);
        try {
          return await solveWithWidget(host.current!, challenge, language_now.current, signal);
        } finally {
          setSolving(false);
          host.current?.replaceChildren();
        }
      }),
    [],
  );

  // The host stays in the document so the widget has somewhere to go; it is hidden while idle.
  return (
    <section class="challenge" hidden={!solving} aria-labelledby="challenge-title">
      <h2 id="challenge-title">{t.challenge_title}</h2>
      <p>{t.challenge_text}</p>
      <div ref={host} class="challenge-widget" />
    </section>
  );
}
