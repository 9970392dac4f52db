// Solves a boxoffice proof-of-work challenge with the ALTCHA widget, in sight of the fan.
//
// The widget is loaded only when a challenge comes: most fans never meet one, and it is by far
// the largest part of the page's script. Its `external` build is the one that works under the
// server's Content-Security-Policy: styles come from a stylesheet file (style-src 'self') and
// the hashing runs in a worker this build emits as its own file (worker-src 'self').

import type { AltchaChallenge } from '../api/types';
import type { Language } from '../i18n/catalogue';

let loading: Promise<void> | null = null;

function loadWidget(language: Language): Promise<void> {
  loading ??= (async () => {
    const [, , { default: ShaWorker }] = await Promise.all([
      import('altcha/external'),
      import('altcha/altcha.css'),
      import('altcha/workers/sha?worker'),
    ]);
    // The server's challenges are SHA-256; the other two are the same worker.
    for (const algorithm of ['SHA-256', 'SHA-384', 'SHA-512']) {
      globalThis.$altcha.algorithms.set(algorithm, () => new ShaWorker());
    }
  })();
  const ready = loading;
  // The widget's own words (its checkbox label, "Verifying…") in the page's language.
  return language === 'de' ? ready.then(() => import('altcha/i18n/de').then(() => {})) : ready;
}

/**
 * Shows the widget in `host`, lets it solve `challenge` and resolves with the base64 payload for
 * the `X-Altcha` header. The fan does nothing: verification starts at once.
 */
export async function solveWithWidget(
  host: HTMLElement,
  challenge: AltchaChallenge,
  language: Language,
  signal?: AbortSignal,
): Promise<string> {
  await loadWidget(language);
  const widget = document.createElement('altcha-widget');
  const loaded = new Promise<void>((resolve) =>
    widget.addEventListener('load', () => resolve(), { once: true }),
  );
  host.replaceChildren(widget);
  await loaded;
  await widget.configure({
    // The widget reads the challenge object as it is given (either format boxoffice hands out)
    // instead of fetching one, so the solution matches the challenge the refused request got.
    challenge: challenge as unknown as string,
    auto: 'off',
    hideFooter: true,
    language,
  });
  return new Promise<string>((resolve, reject) => {
    const abort = () => {
      widget.reset();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', abort, { once: true });
    widget.addEventListener('verified', (event) => {
      signal?.removeEventListener('abort', abort);
      resolve((event as CustomEvent<{ payload: string }>).detail.payload);
    });
    widget.addEventListener('statechange', (event) => {
      const { state, error } = (event as CustomEvent<{ state: string; error?: string }>).detail;
      if (state === 'error' || state === 'expired') {
        signal?.removeEventListener('abort', abort);
        reject(new Error(error ?? `The challenge ${state}.`));
      }
    });
    void widget.verify();
  });
}
