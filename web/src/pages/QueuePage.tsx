// `/events/{id}/queue`: the waiting room. The page posts its telemetry, joins (or, after a reload,
// resumes the place kept in storage), then follows the fan's place over the server's event
// stream, polling `queue/status` as `retry_after_s` says when no stream can be had. Once the fan
// is admitted it keeps the access token and moves on to the seats by itself.

import { useEffect, useState } from 'preact/hooks';
import { followQueue, getEvent, joinQueue, postTelemetry, queueStatus } from '../api/boxoffice';
import { ApiError } from '../api/client';
import type { EventDetail, QueueStatus } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { useI18n } from '../i18n';
import { useDocumentTitle } from '../lib/hooks';
import { navigate, paths } from '../lib/router';
import { admission, queuePlace, type QueuePlace } from '../lib/storage';

/** The wait between polls when the server names none. */
const kDefaultPoll_s = 2;

type Transport = 'stream' | 'polling';

function isFinal(status: QueueStatus): boolean {
  return status.state === 'admitted' || status.state === 'sold_out' || status.state === 'closed';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        window.clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** The stored place if the server still knows it, else a new one (telemetry first). */
async function takePlace(
  event_id: string,
  signal: AbortSignal,
): Promise<[QueuePlace, QueueStatus]> {
  const stored = queuePlace.get(event_id);
  if (stored) {
    try {
      return [stored, await queueStatus(event_id, stored.ticket, signal)];
    } catch (error) {
      // A ticket of an older session or a forged one: the fan needs a new place.
      if (!(error instanceof ApiError && error.status === 401)) throw error;
      queuePlace.clear(event_id);
    }
  }
  // The waiting room scores a join by what the page saw of the fan (docs/defense.md).
  await postTelemetry(signal);
  const joined = await joinQueue(event_id, signal);
  const place = { ticket: joined.queue_ticket, first_position: joined.position };
  queuePlace.set(event_id, place);
  return [place, joined];
}

export function QueuePage({ event_id }: { event_id: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  useDocumentTitle(t.queue_title, t.site_name);
  const [event, setEvent] = useState<EventDetail | null>(null);
  const [place, setPlace] = useState<QueuePlace | null>(null);
  const [status, setStatus] = useState<QueueStatus | null>(null);
  const [transport, setTransport] = useState<Transport>('stream');
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    setError(null);

    const show = (next: QueueStatus) => {
      setStatus(next);
      if (next.state === 'admitted' && next.access_token && next.access_expires_at) {
        admission.set(event_id, {
          access_token: next.access_token,
          expires_at: next.access_expires_at,
        });
        navigate(paths.seats(event_id), { replace: true });
      }
    };

    const run = async () => {
      setEvent(await getEvent(event_id, signal));
      if (admission.get(event_id)) {
        navigate(paths.seats(event_id), { replace: true });
        return;
      }
      const [taken, first] = await takePlace(event_id, signal);
      setPlace(taken);
      let latest = first;
      show(latest);
      let streaming = true;
      while (!isFinal(latest)) {
        if (streaming) {
          try {
            await followQueue(event_id, taken.ticket, (next) => show((latest = next)), signal);
          } catch (stream_error) {
            if (signal.aborted) throw stream_error;
            // No stream to be had (the server's stream cap, a proxy that buffers): poll instead.
            streaming = false;
            setTransport('polling');
          }
          if (isFinal(latest)) break;
        }
        await sleep(Math.max(1, latest.retry_after_s ?? kDefaultPoll_s) * 1000, signal);
        show((latest = await queueStatus(event_id, taken.ticket, signal)));
      }
    };
    run().catch((failure) => signal.aborted || setError(failure));
    return () => controller.abort();
  }, [event_id, attempt]);

  const joinAgain = () => {
    queuePlace.clear(event_id);
    admission.clear(event_id);
    setStatus(null);
    setPlace(null);
    setAttempt((n) => n + 1);
  };

  return (
    <>
      <p class="breadcrumb">
        <a href={paths.event(event_id)}>{t.back_to_event}</a>
      </p>
      <h1 tabIndex={-1}>{t.queue_title}</h1>
      {event && <p class="lead">{event.name}</p>}
      {error !== null ? (
        <ErrorNotice error={error} onRetry={() => setAttempt((n) => n + 1)} />
      ) : status === null ? (
        // Not a status: the page's one status is the place in line, and it holds a number.
        <p>{t.queue_joining}</p>
      ) : (
        <QueueView
          status={status}
          place={place}
          paused={status.paused ?? false}
          transport={transport}
          onJoinAgain={joinAgain}
        />
      )}
    </>
  );
}

function QueueView(props: {
  status: QueueStatus;
  place: QueuePlace | null;
  paused: boolean;
  transport: Transport;
  onJoinAgain: () => void;
}) {
  const i18n = useI18n();
  const { t } = i18n;
  const { status, place, paused } = props;

  if (status.state === 'sold_out') {
    return (
      <div class="notice notice-final" role="alert">
        <p>{t.queue_sold_out}</p>
      </div>
    );
  }
  if (status.state === 'closed') {
    return (
      <div class="notice notice-final">
        <p role="status">{t.queue_closed}</p>
        <button type="button" onClick={props.onJoinAgain}>
          {t.queue_join_again}
        </button>
      </div>
    );
  }
  if (status.state === 'admitted') return <p>{t.queue_admitted}</p>;

  const position = status.position;
  const first = place?.first_position ?? null;
  const progress = position !== null && first !== null && first > 0 ? first - position : null;
  return (
    <div class="card queue">
      <p role="status" class="queue-position">
        {status.state === 'prequeue'
          ? position === null
            ? t.queue_prequeue
            : t.queue_prequeue_position(position)
          : t.queue_position(position ?? 0)}
      </p>
      {/* Its own live region: the page's one status is the place in line. */}
      <div aria-live="polite">
        {status.message && (
          <p class="notice notice-message">
            <strong>{t.queue_message}</strong> {status.message}
          </p>
        )}
      </div>
      {paused ? (
        <p class="notice notice-paused">{t.queue_paused}</p>
      ) : (
        status.eta_s !== null && (
          <p>
            {status.eta_s <= 1 ? t.queue_eta_soon : t.queue_eta(i18n.roughDuration(status.eta_s))}
          </p>
        )
      )}
      {status.seats_left === 0 && status.seats_held !== undefined && (
        <p>{t.queue_seats_held(status.seats_held)}</p>
      )}
      <label class="progress">
        <span>{t.queue_progress}</span>
        {progress === null ? (
          <progress />
        ) : (
          <progress max={first ?? 1} value={Math.max(0, progress)} />
        )}
      </label>
      <p>{t.queue_keep_place}</p>
      <p class="muted">
        {props.transport === 'stream' ? t.queue_live_updates : t.queue_polling_updates}
      </p>
    </div>
  );
}
