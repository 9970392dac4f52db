// Every event, each a link to its dashboard, with whether its doors are open, and the way to
// create another.

import { call, describe } from '../api';
import { useLoad } from '../../lib/hooks';
import { consolePaths } from '../router';
import type { EventListItem } from '../types';

function doors(event: EventListItem): string {
  if (!event.queue?.enabled) return 'no queue';
  if (event.queue.closed) return 'closed';
  if (event.queue.paused) return 'paused';
  if (event.onsale_at && Date.parse(event.onsale_at) > Date.now()) return 'pre-queue';
  return 'on sale';
}

export function EventsPage() {
  const [events, reload] = useLoad(
    (signal) =>
      call<{ items: EventListItem[] }>('/v1/events?limit=200', { signal }).then((b) => b.items),
    [],
  );
  return (
    <>
      <h1 tabIndex={-1}>Events</h1>
      <p>
        <a class="button button-primary" href={consolePaths.newEvent()}>
          Create an event
        </a>
      </p>
      {events.state === 'loading' && <p>Loading the events…</p>}
      {events.state === 'failed' && (
        <div class="notice notice-error" role="alert">
          <p>{describe(events.error)}</p>
          <button type="button" onClick={reload}>
            Retry
          </button>
        </div>
      )}
      {events.state === 'ready' &&
        (events.value.length === 0 ? (
          <p>No events yet.</p>
        ) : (
          <ul class="console-events">
            {events.value.map((event) => (
              <li key={event.id} class="card">
                <a href={consolePaths.event(event.id)}>{event.name}</a>
                <span class="muted"> · {event.id}</span>
                <span class={`badge badge-${doors(event).replace(' ', '-')}`}>{doors(event)}</span>
              </li>
            ))}
          </ul>
        ))}
    </>
  );
}
