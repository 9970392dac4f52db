// `/events/{id}`: what is on sale and for how much, a countdown to the on-sale, and the way in.

import { getEvent, hasSeatsLeft } from '../api/boxoffice';
import type { EventDetail } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { EventFacts } from '../components/EventFacts';
import { useI18n } from '../i18n';
import { useDocumentTitle, useLoad, useNow } from '../lib/hooks';
import { paths } from '../lib/router';

function seatCount(section: EventDetail['sections'][number]): number {
  return section.rows.reduce((sum, row) => sum + row.seats, 0);
}

export function EventPage({ event_id }: { event_id: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const [loaded, reload] = useLoad(
    async (signal) => {
      const event = await getEvent(event_id, signal);
      return { event, seats_left: await hasSeatsLeft(event, signal) };
    },
    [event_id],
  );
  const event = loaded.state === 'ready' ? loaded.value.event : null;
  useDocumentTitle(event?.name ?? '', t.site_name);

  const onsale_ms = event?.onsale_at ? Date.parse(event.onsale_at) : 0;
  const now = useNow(1000, onsale_ms > Date.now());
  const before_sale = onsale_ms > now;

  if (loaded.state === 'loading') return <p>{t.loading}</p>;
  if (loaded.state === 'failed') return <ErrorNotice error={loaded.error} onRetry={reload} />;
  const { seats_left } = loaded.value;
  const detail = loaded.value.event;
  const tiers = new Map(detail.price_tiers.map((tier) => [tier.id, tier]));

  return (
    <>
      <p class="breadcrumb">
        <a href={paths.events()}>{t.back_to_events}</a>
      </p>
      <h1 tabIndex={-1}>{detail.name}</h1>
      <EventFacts
        venue={detail.venue ?? null}
        starts_at={detail.starts_at}
        event={detail}
        seats_left={seats_left}
      />

      {before_sale && (
        <div class="card onsale">
          <p>
            {t.onsale_countdown_label}{' '}
            <span role="timer" class="countdown">
              {i18n.clock((onsale_ms - now) / 1000)}
            </span>
          </p>
          <p>{t.prequeue_hint}</p>
        </div>
      )}

      <p class="actions">
        <a class="button button-primary" href={paths.queue(detail.id)}>
          {t.get_tickets}
        </a>
      </p>
      <p>{t.per_order_limit(detail.limits.per_order)}</p>

      <h2>{t.price_tiers}</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">{t.tier}</th>
            <th scope="col">{t.price}</th>
          </tr>
        </thead>
        <tbody>
          {detail.price_tiers.map((tier) => (
            <tr key={tier.id}>
              <th scope="row">{tier.name}</th>
              <td>{i18n.money(tier.price_cents, detail.currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>{t.sections}</h2>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">{t.section}</th>
              <th scope="col">{t.tier}</th>
              <th scope="col">{t.price}</th>
              <th scope="col">{t.seat_count}</th>
            </tr>
          </thead>
          <tbody>
            {detail.sections.map((section) => {
              const tier = tiers.get(section.tier);
              return (
                <tr key={section.id}>
                  <th scope="row">{section.name}</th>
                  <td>{tier?.name ?? section.tier}</td>
                  <td>{tier ? i18n.money(tier.price_cents, detail.currency) : '–'}</td>
                  <td>{seatCount(section)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
