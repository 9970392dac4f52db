// Door staff sign in to the scanner with a key of their own, which may only check in, and only
// at this event. The key is shown once, here; the server keeps only its hash.

import { useState } from 'preact/hooks';
import { call, describe } from '../api';
import { consolePaths } from '../router';

export function ScannerKeyPanel(props: { event_id: string }) {
  const [key, setKey] = useState<string | null>(null);
  const [outcome, setOutcome] = useState('');
  const [busy, setBusy] = useState(false);
  const create = async () => {
    setBusy(true);
    try {
      const issued = await call<{ id: string; key: string }>(
        `/v1/events/${encodeURIComponent(props.event_id)}/scanner-keys`,
        { method: 'POST', body: {} },
      );
      setKey(issued.key);
      setOutcome(`Scanner key ${issued.id} created. Copy it now: it is not shown again.`);
    } catch (error) {
      setOutcome(describe(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="scanner-title">
      <h2 id="scanner-title">Door</h2>
      <p>
        <a href={consolePaths.scan(props.event_id)}>Open the door scanner for this event</a>
      </p>
      <button type="button" class="button-quiet-outline" disabled={busy} onClick={create}>
        Create scanner key
      </button>
      {key && (
        <p>
          <label>
            <span>New scanner key</span>
            <input type="text" readOnly value={key} class="key-output" spellcheck={false} />
          </label>
        </p>
      )}
      <p role="status" class="outcome">
        {outcome}
      </p>
    </section>
  );
}
