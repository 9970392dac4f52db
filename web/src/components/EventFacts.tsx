// An event's venue, date, price range and whether tickets are left, as the events list and the
// event page both show them.

import type { EventDetail } from '../api/types';
import { useI18n, type I18n } from '../i18n';

function priceRange(event: EventDetail, i18n: I18n): string {
  const prices = event.price_tiers.map((tier) => tier.price_cents);
  if (prices.length === 0) return '–';
  return i18n.t.price_range(
    i18n.money(Math.min(...prices), event.currency),
    i18n.money(Math.max(...prices), event.currency),
  );
}

function availability(event: EventDetail, seats_left: boolean, i18n: I18n): string {
  if (!seats_left) return i18n.t.sold_out;
  if (event.onsale_at && Date.parse(event.onsale_at) > Date.now()) {
    return i18n.t.onsale_from(i18n.dateTime(event.onsale_at));
  }
  return i18n.t.tickets_left;
}

/** `event` and `seats_left` are null while they load; `venue` is null when the event has none. */
export function EventFacts(props: {
  venue: string | null;
  starts_at: string | null;
  event: EventDetail | null;
  seats_left: boolean | null;
}) {
  const i18n = useI18n();
  const { t } = i18n;
  return (
    <dl class="facts">
      {props.venue && (
        <div>
          <dt>{t.event_venue}</dt>
          <dd>{props.venue}</dd>
        </div>
      )}
      <div>
        <dt>{t.event_date}</dt>
        <dd>{props.starts_at ? i18n.dateTime(props.starts_at) : t.date_to_be_announced}</dd>
      </div>
      <div>
        <dt>{t.event_prices}</dt>
        <dd>{props.event ? priceRange(props.event, i18n) : '…'}</dd>
      </div>
      <div>
        <dt>{t.event_availability}</dt>
        <dd>
          {props.event && props.seats_left !== null
            ? availability(props.event, props.seats_left, i18n)
            : t.checking_availability}
        </dd>
      </div>
    </dl>
  );
}
