// `/`: the upcoming events, each with its date, price range and whether tickets are left.

import { getEvent, hasSeatsLeft, listEvents } from '../api/boxoffice';
import type { EventSummary } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { EventFacts } from '../components/EventFacts';
import { useI18n } from '../i18n';
import { useDocumentTitle, useLoad } from '../lib/hooks';
import { paths } from '../lib/router';

/** Upcoming: not started yet, or with no date set. */
function isUpcoming(event: EventSummary, now: number): boolean {
  return event.starts_at === null || Date.parse(event.starts_at) > now;
}

export function EventsPage() {
  const { t } = useI18n();
  useDocumentTitle(t.events_title, t.site_name);
  const [events, reload] = useLoad(async (signal) => {
    const now = Date.now();
    return (await listEvents(signal)).filter((event) => isUpcoming(event, now));
  }, []);

  return (
    <>
      <h1 tabIndex={-1}>{t.events_title}</h1>
      {events.state === 'loading' && <p>{t.loading}</p>}
      {events.state === 'failed' && <ErrorNotice error={events.error} onRetry={reload} />}
      {events.state === 'ready' &&
        (events.value.length === 0 ? (
          <p>{t.events_empty}</p>
        ) : (
          <ul class="event-list">
            {events.value.map((event) => (
              <EventCard key={event.id} event={event} />
            ))}
          </ul>
        ))}
    </>
  );
}

function EventCard({ event }: { event: EventSummary }) {
  // The list leaves out price tiers and availability; the event's own answers have them.
  const [detail] = useLoad(
    async (signal) => {
      const full = await getEvent(event.id, signal);
      return { event: full, seats_left: await hasSeatsLeft(full, signal) };
    },
    [event.id],
  );
  const ready = detail.state === 'ready' ? detail.value : null;
  return (
    <li class="card event-card">
      <h2>
        <a href={paths.event(event.id)}>{event.name}</a>
      </h2>
      <EventFacts
        venue={event.venue ?? null}
        starts_at={event.starts_at}
        event={ready?.event ?? null}
        seats_left={ready?.seats_left ?? null}
      />
    </li>
  );
}
