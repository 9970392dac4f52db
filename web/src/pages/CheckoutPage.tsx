// `/events/{id}/checkout?hold=ID`: the held seats, the time left on the hold, the fan's email and
// the payment. A declined card keeps the hold, so the fan may try again while it lasts. Every
// press of Pay is one payment attempt with its own Idempotency-Key; the client's automatic
// retries of a busy answer reuse it, so a retry never pays twice.

import { useEffect, useState } from 'preact/hooks';
import { getClientConfig, getEvent, getHold, placeOrder, releaseHold } from '../api/boxoffice';
import { ApiError } from '../api/client';
import type { EventDetail, Hold } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { PaymentMethod, type PaymentChoice } from '../components/PaymentMethod';
import { useI18n } from '../i18n';
import { useDocumentTitle, useLoad, useNow } from '../lib/hooks';
import { navigate, paths, useLocation } from '../lib/router';
import { admission, heldSeats } from '../lib/storage';

/** The test cards of the gateway simulator, offered while the server has no `/v1/config`. */
const kSimulatorCards = ['tok_visa', 'tok_declined', 'tok_insufficient_funds', 'tok_error'];
/** The hold's last stretch, announced to screen readers once. */
const kLastMinute_s = 60;

export function CheckoutPage({ event_id }: { event_id: string }) {
  const { t } = useI18n();
  useDocumentTitle(t.checkout_title, t.site_name);
  const { search } = useLocation();
  const hold_id = search.get('hold') ?? heldSeats.get(event_id);
  const [loaded, reload] = useLoad(
    async (signal) => {
      if (!hold_id) return null;
      const [event, hold, config] = await Promise.all([
        getEvent(event_id, signal),
        getHold(hold_id, signal),
        getClientConfig(signal),
      ]);
      return { event, hold, test_cards: config ? config.test_cards : kSimulatorCards };
    },
    [event_id, hold_id],
  );

  let body;
  if (loaded.state === 'loading') body = <p>{t.loading}</p>;
  else if (loaded.state === 'failed') {
    const gone = loaded.error instanceof ApiError && loaded.error.code === 'hold_not_found';
    body = gone ? (
      <HoldEnded event_id={event_id} />
    ) : (
      <ErrorNotice error={loaded.error} onRetry={reload} />
    );
  } else if (loaded.value === null) {
    body = (
      <div class="notice">
        <p>{t.no_hold}</p>
        <a class="button" href={paths.seats(event_id)}>
          {t.choose_seats_again}
        </a>
      </div>
    );
  } else if (loaded.value.hold.status !== 'held') body = <HoldEnded event_id={event_id} />;
  else body = <Checkout {...loaded.value} />;

  return (
    <>
      <h1 tabIndex={-1}>{t.checkout_title}</h1>
      {body}
    </>
  );
}

function HoldEnded({ event_id, expired }: { event_id: string; expired?: boolean }) {
  const { t } = useI18n();
  return (
    <div class="notice">
      <p role="status">{expired ? t.hold_expired : t.hold_ended}</p>
      <a class="button" href={paths.seats(event_id)}>
        {t.choose_seats_again}
      </a>
    </div>
  );
}

function Checkout({
  event,
  hold,
  test_cards,
}: {
  event: EventDetail;
  hold: Hold;
  test_cards: string[];
}) {
  const i18n = useI18n();
  const { t } = i18n;
  const expires_ms = Date.parse(hold.expires_at);
  const now = useNow(1000);
  const left_s = (expires_ms - now) / 1000;
  const [email, setEmail] = useState('');
  const [payment, setPayment] = useState<PaymentChoice | null>(
    test_cards.length > 0 ? { token: test_cards[0] } : null,
  );
  const [paying, setPaying] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);

  useEffect(() => {
    if (left_s <= 0) heldSeats.clear(event.id);
  }, [left_s <= 0]);

  if (left_s <= 0) return <HoldEnded event_id={event.id} expired />;

  const pay = async (submit: Event) => {
    submit.preventDefault();
    if (!payment) return;
    setPaying(true);
    setFailure(null);
    const access = event.queue.enabled ? (admission.get(event.id)?.access_token ?? null) : null;
    try {
      const order = await placeOrder(
        { hold_id: hold.hold_id, email: email.trim(), payment },
        crypto.randomUUID(),
        access,
      );
      heldSeats.clear(event.id);
      navigate(paths.order(order.order_id));
    } catch (error) {
      setPaying(false);
      setFailure(error);
    }
  };

  const seat_prices = hold.seats.map((seat) => (
    <tr key={seat.id}>
      <th scope="row">{seat.id}</th>
      <td>{i18n.money(seat.price_cents, hold.currency)}</td>
    </tr>
  ));

  return (
    <div class="checkout-layout">
      <section class="card" aria-labelledby="summary-title">
        <h2 id="summary-title">{t.order_summary}</h2>
        <p class="lead">{event.name}</p>
        <p class="hold-timer">
          <span id="hold-timer-label">{t.hold_timer_label}</span>{' '}
          <span role="timer" aria-labelledby="hold-timer-label" class="countdown">
            {i18n.clock(left_s)}
          </span>
        </p>
        {/* The timer itself stays quiet (role timer); this says the one thing worth saying. */}
        <p role="status" class="hold-warning">
          {left_s <= kLastMinute_s ? t.hold_last_minute : ''}
        </p>
        <table>
          <tbody>{seat_prices}</tbody>
          <tfoot>
            <tr>
              <th scope="row">{t.total}</th>
              <td>{i18n.money(hold.total_cents, hold.currency)}</td>
            </tr>
          </tfoot>
        </table>
        <button
          type="button"
          class="button-quiet"
          disabled={paying}
          onClick={() =>
            releaseHold(hold.hold_id).then(() => {
              heldSeats.clear(event.id);
              navigate(paths.seats(event.id));
            }, setFailure)
          }
        >
          {t.release_seats}
        </button>
      </section>

      <form class="card" onSubmit={pay} aria-labelledby="payment-title">
        <h2 id="payment-title">{t.payment}</h2>
        {failure !== null && <PaymentFailure error={failure} event_id={event.id} />}
        <label class="field">
          <span>{t.email}</span>
          <input
            type="email"
            name="email"
            autocomplete="email"
            required
            value={email}
            aria-describedby="email-hint"
            onInput={(input) => setEmail(input.currentTarget.value)}
          />
        </label>
        <p id="email-hint" class="muted">
          {t.email_hint}
        </p>
        <PaymentMethod testCards={test_cards} value={payment} onChange={setPayment} />
        <button type="submit" class="button-primary" disabled={paying || !payment}>
          {t.pay}
        </button>
        {paying && <p role="status">{t.paying}</p>}
      </form>
    </div>
  );
}

function PaymentFailure({ error, event_id }: { error: unknown; event_id: string }) {
  const { t } = useI18n();
  if (error instanceof ApiError && error.code === 'payment_declined') {
    // The gateway's decline code in words; a code this page does not know stays unsaid.
    const reason = t.decline_reasons[String(error.details.decline_code)];
    return (
      <div class="notice notice-error" role="alert">
        <p>{reason ? t.declined(reason) : t.declined_no_reason}</p>
      </div>
    );
  }
  if (
    error instanceof ApiError &&
    (error.code === 'hold_expired' || error.code === 'hold_not_found')
  ) {
    return (
      <div class="notice notice-error" role="alert">
        <p>{t.error_codes[error.code]}</p>
        <a class="button" href={paths.seats(event_id)}>
          {t.choose_seats_again}
        </a>
      </div>
    );
  }
  return <ErrorNotice error={error} />;
}
