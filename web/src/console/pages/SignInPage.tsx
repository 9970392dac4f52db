// Sign in with the operator key (or a viewer key minted from it). The key is tried on a read
// every scope may make before it is kept, so a mistyped key is told at once.

import { useState } from 'preact/hooks';
import { call, describe } from '../api';

export function SignInPage(props: { onSignIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError('Enter the operator key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await call('/v1/audit?limit=1', { key: trimmed });
      props.onSignIn(trimmed);
    } catch (failure) {
      setError(describe(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1 tabIndex={-1}>Sign in</h1>
      <form class="card sign-in" onSubmit={submit} noValidate>
        <label for="operator-key">Operator key</label>
        <input
          id="operator-key"
          type="password"
          autocomplete="current-password"
          spellcheck={false}
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          aria-describedby={error ? 'sign-in-error' : undefined}
          required
        />
        <p class="hint">
          The key the server was started with (BOXOFFICE_ADMIN_KEY), or a viewer key. It stays in
          this tab only.
        </p>
        {error && (
          <p id="sign-in-error" class="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </>
  );
}
