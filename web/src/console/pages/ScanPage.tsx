// The door scanner: staff sign in with a scanner key (or the operator key), then check tickets
// in by their code, typed, pasted or read by the camera where the browser has BarcodeDetector.
// The answer is large, in colour and in words, in a `status` region a screen reader announces;
// nothing beeps.

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../../api/client';
import { useLoad } from '../../lib/hooks';
import { navigate } from '../../lib/router';
import { call, describe } from '../api';
import { consolePaths } from '../router';
import type { EventListItem } from '../types';

type Result =
  | { kind: 'valid'; seat_id: string }
  | { kind: 'already'; when: string }
  | { kind: 'invalid'; reason: string }
  | { kind: 'error'; text: string };

interface CheckedIn {
  seat_id: string;
  checked_in_at: string;
}

interface BarcodeDetectorLike {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}

function ScannerSignIn(props: { onSignIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  return (
    <form
      class="card sign-in"
      onSubmit={(event) => {
        event.preventDefault();
        if (key.trim()) props.onSignIn(key.trim());
      }}
    >
      <label for="scanner-key">Scanner or operator key</label>
      <input
        id="scanner-key"
        type="password"
        autocomplete="current-password"
        spellcheck={false}
        value={key}
        onInput={(event) => setKey(event.currentTarget.value)}
        required
      />
      <p class="hint">A scanner key from the event's dashboard checks in at that event only.</p>
      <button type="submit">Sign in</button>
    </form>
  );
}

function EventPicker() {
  const [events] = useLoad(
    (signal) =>
      call<{ items: EventListItem[] }>('/v1/events?limit=200', { signal }).then((b) => b.items),
    [],
  );
  if (events.state === 'loading') return <p>Loading the events…</p>;
  if (events.state === 'failed') return <p class="notice notice-error">{describe(events.error)}</p>;
  return (
    <section class="card">
      <h2>Which event is at this door?</h2>
      <ul>
        {events.value.map((event) => (
          <li key={event.id}>
            <a
              href={consolePaths.scan(event.id)}
              onClick={(click) => {
                click.preventDefault();
                navigate(consolePaths.scan(event.id));
              }}
            >
              {event.name}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ScanPage(props: {
  event_id: string | null;
  signedIn: string | null;
  onSignIn: (key: string | null) => void;
}) {
  const [code, setCode] = useState('');
  const [result, setResult] = useState<Result | null>(null);
  const [busy, setBusy] = useState(false);
  const [camera, setCamera] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const detector_available = 'BarcodeDetector' in window;

  const checkIn = async (value: string) => {
    const trimmed = value.trim();
    if (!trimmed || props.event_id === null) return;
    setBusy(true);
    try {
      const checked = await call<CheckedIn>(
        `/v1/events/${encodeURIComponent(props.event_id)}/checkin`,
        { method: 'POST', body: { code: trimmed } },
      );
      setResult({ kind: 'valid', seat_id: checked.seat_id });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'already_checked_in') {
        const when = String(error.details.first_checked_in_at ?? '');
        setResult({ kind: 'already', when: when ? new Date(when).toLocaleString('en-GB') : '' });
      } else if (error instanceof ApiError && error.code === 'invalid_ticket') {
        setResult({ kind: 'invalid', reason: error.message });
      } else if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        setResult({ kind: 'error', text: describe(error) });
        if (error.status === 401) props.onSignIn(null);
      } else {
        setResult({ kind: 'error', text: describe(error) });
      }
    } finally {
      setBusy(false);
      setCode('');
      input.current?.focus();
    }
  };

  if (props.signedIn === null) {
    return (
      <>
        <h1 tabIndex={-1}>Door scanner</h1>
        {result?.kind === 'error' && (
          <p class="notice notice-error" role="alert">
            {result.text}
          </p>
        )}
        <ScannerSignIn
          onSignIn={(key) => {
            // The refusal that brought the staff here is not the next ticket's answer.
            setResult(null);
            props.onSignIn(key);
          }}
        />
      </>
    );
  }
  if (props.event_id === null) {
    return (
      <>
        <h1 tabIndex={-1}>Door scanner</h1>
        <EventPicker />
      </>
    );
  }
  return (
    <>
      <h1 tabIndex={-1}>Door scanner</h1>
      <p class="muted">Event {props.event_id}</p>
      <form
        class="card scan-form"
        onSubmit={(event) => {
          event.preventDefault();
          void checkIn(code);
        }}
      >
        <label for="ticket-code">Ticket code</label>
        <input
          id="ticket-code"
          ref={input}
          type="text"
          autocomplete="off"
          spellcheck={false}
          value={code}
          onInput={(event) => setCode(event.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          Check in
        </button>
        {detector_available && (
          <button type="button" class="button-quiet-outline" onClick={() => setCamera((on) => !on)}>
            {camera ? 'Stop camera' : 'Use camera'}
          </button>
        )}
      </form>
      {camera && <CameraReader onCode={(value) => void checkIn(value)} />}
      <div role="status" class={`scan-result scan-${result?.kind ?? 'none'}`}>
        {result?.kind === 'valid' && (
          <>
            <p class="scan-word">Valid</p>
            <p>Seat {result.seat_id}: let them in.</p>
          </>
        )}
        {result?.kind === 'already' && (
          <>
            <p class="scan-word">Already checked in</p>
            <p>{result.when ? `First checked in at ${result.when}.` : 'This ticket was used before.'}</p>
          </>
        )}
        {result?.kind === 'invalid' && (
          <>
            <p class="scan-word">Invalid</p>
            <p>{result.reason}</p>
          </>
        )}
        {result?.kind === 'error' && <p>{result.text}</p>}
      </div>
    </>
  );
}

// Reads QR codes from the camera a few times a second; a code read twice in a row is sent once.
function CameraReader(props: { onCode: (code: string) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer = 0;
    let last = '';
    const Detector = (window as unknown as { BarcodeDetector: new (o: object) => BarcodeDetectorLike })
      .BarcodeDetector;
    const detector = new Detector({ formats: ['qr_code'] });
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: 'environment' } })
      .then((media) => {
        stream = media;
        if (!video.current) return;
        video.current.srcObject = media;
        void video.current.play();
        timer = window.setInterval(async () => {
          if (!video.current) return;
          const codes = await detector.detect(video.current).catch(() => []);
          const value = codes[0]?.rawValue ?? '';
          if (value && value !== last) props.onCode(value);
          last = value;
        }, 300);
      })
      .catch(() => setError('The camera is not available; type or paste the code instead.'));
    return () => {
      window.clearInterval(timer);
      stream?.getTracks().forEach((track) => track.stop());
    };
  }, []);
  return error ? (
    <p class="notice notice-error">{error}</p>
  ) : (
    <video ref={video} class="camera" muted playsInline aria-label="Camera" />
  );
}
