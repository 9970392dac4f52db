// The andon cord: the admission rate and max active, pause and resume with a message that every
// fan in line sees, and closing the queue to new fans (PATCH /v1/events/{id}/queue). Pausing and
// closing ask for confirmation first.

import { useEffect, useState } from 'preact/hooks';
import { call, describe } from '../api';
import type { QueueSettings } from '../types';
import { ConfirmDialog } from './ConfirmDialog';

const kRateMax = 1_000_000;
const kMaxActiveMax = 10_000_000;
const kMessageMaxChars = 280;

/** The whole number in `text` when it is within [1, max]; null otherwise. */
function wholeNumber(text: string, max: number): number | null {
  const value = Number(text);
  return Number.isInteger(value) && value >= 1 && value <= max ? value : null;
}

function WholeNumberField(props: {
  label: string;
  hint: string;
  max: number;
  value: string;
  onInput: (value: string) => void;
}) {
  return (
    <label>
      <span>{props.label}</span>
      <input
        type="number"
        min={1}
        max={props.max}
        step={1}
        inputMode="numeric"
        value={props.value}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
      <span class="hint">{props.hint}</span>
    </label>
  );
}

type Outcome = { ok: true; text: string } | { ok: false; text: string } | null;

export function Controls(props: {
  event_id: string;
  queue: QueueSettings;
  onChanged: (queue: QueueSettings) => void;
}) {
  const { queue } = props;
  const [rate, setRate] = useState(String(queue.admission_rate_per_s));
  const [max_active, setMaxActive] = useState(String(queue.max_active));
  const [message, setMessage] = useState(queue.message ?? '');
  const [confirming, setConfirming] = useState<'pause' | 'close' | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  // Another operator's change, read back by the dashboard, shows here too.
  useEffect(() => setMessage(queue.message ?? ''), [queue.message]);

  const send = async (body: Record<string, unknown>, done: (queue: QueueSettings) => string) => {
    setBusy(true);
    try {
      const now = await call<QueueSettings>(`/v1/events/${encodeURIComponent(props.event_id)}/queue`, {
        method: 'PATCH',
        body,
      });
      props.onChanged(now);
      setOutcome({ ok: true, text: done(now) });
    } catch (error) {
      setOutcome({ ok: false, text: describe(error) });
    } finally {
      setBusy(false);
    }
  };

  const apply = (event: Event) => {
    event.preventDefault();
    const rate_value = wholeNumber(rate, kRateMax);
    const max_value = wholeNumber(max_active, kMaxActiveMax);
    if (rate_value === null) {
      setOutcome({ ok: false, text: `Admission rate must be a whole number from 1 to ${kRateMax}.` });
      return;
    }
    if (max_value === null) {
      setOutcome({ ok: false, text: `Max active must be a whole number from 1 to ${kMaxActiveMax}.` });
      return;
    }
    void send(
      { admission_rate_per_s: rate_value, max_active: max_value },
      (now) => `Applied: ${now.admission_rate_per_s} fans a second, at most ${now.max_active} active.`,
    );
  };
  const pause = () => {
    setConfirming(null);
    void send({ paused: true, message }, () =>
      message ? 'Paused. Fans in line see your message.' : 'Paused.',
    );
  };
  const resume = () =>
    void send({ paused: false, message }, () =>
      message ? 'Resumed. Your message stays up.' : 'Resumed.',
    );
  const close = () => {
    setConfirming(null);
    void send({ closed: true }, () => 'Closed. No new fans may join; those in line keep their places.');
  };
  const reopen = () => void send({ closed: false }, () => 'Reopened. New fans may join again.');

  return (
    <section class="card controls" aria-labelledby="controls-title">
      <h2 id="controls-title">Controls</h2>
      <p>
        Doors: <strong>{queue.paused ? 'paused' : 'open'}</strong> · queue:{' '}
        <strong>{queue.closed ? 'closed to new fans' : 'taking new fans'}</strong>
        {queue.message ? (
          <>
            {' '}
            · message up: “{queue.message}”
          </>
        ) : null}
      </p>
      <form class="control-row" onSubmit={apply} noValidate>
        <WholeNumberField
          label="Admission rate"
          hint="fans a second"
          max={kRateMax}
          value={rate}
          onInput={setRate}
        />
        <WholeNumberField
          label="Max active"
          hint="fans shopping at once"
          max={kMaxActiveMax}
          value={max_active}
          onInput={setMaxActive}
        />
        <button type="submit" disabled={busy}>
          Apply
        </button>
      </form>
      <div class="control-row">
        <label class="wide">
          <span>Message</span>
          <input
            type="text"
            maxLength={kMessageMaxChars}
            value={message}
            onInput={(event) => setMessage(event.currentTarget.value)}
          />
          <span class="hint">shown to every fan in line; empty takes it down</span>
        </label>
        <button type="button" disabled={busy} onClick={() => setConfirming('pause')}>
          Pause
        </button>
        <button type="button" disabled={busy} onClick={resume}>
          Resume
        </button>
      </div>
      <div class="control-row">
        {queue.closed ? (
          <button type="button" disabled={busy} onClick={reopen}>
            Reopen the queue
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={() => setConfirming('close')}>
            Close the queue
          </button>
        )}
      </div>
      <p role="status" class={outcome && !outcome.ok ? 'notice notice-error' : 'outcome'}>
        {outcome?.text ?? ''}
      </p>
      <ConfirmDialog
        open={confirming === 'pause'}
        title="Pause admissions?"
        onConfirm={pause}
        onCancel={() => setConfirming(null)}
      >
        <p>
          Nobody more is let in until you resume. Fans in line keep their places
          {message ? ' and see your message.' : '.'}
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirming === 'close'}
        title="Close the queue to new fans?"
        onConfirm={close}
        onCancel={() => setConfirming(null)}
      >
        <p>
          Fans who have not joined yet are turned away until you reopen. Fans already in line keep
          their places and are let in as before.
        </p>
      </ConfirmDialog>
    </section>
  );
}
