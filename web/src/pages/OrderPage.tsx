// `/orders/{id}`: the order until its tickets are issued (polled), then the tickets, each with
// its QR code, ready to print.

import { useEffect, useState } from 'preact/hooks';
import { getEvent, getOrder, ticketQr } from '../api/boxoffice';
import type { EventDetail, Order, Ticket } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { useI18n } from '../i18n';
import { useDocumentTitle } from '../lib/hooks';
import { paths } from '../lib/router';

/** An order not yet completed is read again after this, then less and less often. */
const kOrderPollFirst_ms = 1_000;
const kOrderPollMax_ms = 10_000;

export function OrderPage({ order_id }: { order_id: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const [order, setOrder] = useState<Order | null>(null);
  const [event, setEvent] = useState<EventDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const done = order?.status === 'completed' || order?.status === 'refunded';
  useDocumentTitle(done ? t.your_tickets : t.order_title, t.site_name);

  useEffect(() => {
    const controller = new AbortController();
    let timer = 0;
    let wait_ms = kOrderPollFirst_ms;
    const read = async () => {
      try {
        const current = await getOrder(order_id, controller.signal);
        setOrder(current);
        setError(null);
        if (current.status === 'confirmed') {
          // Tickets come within a second or two; a capture the gateway is retrying takes longer.
          timer = window.setTimeout(read, wait_ms);
          wait_ms = Math.min(wait_ms * 1.5, kOrderPollMax_ms);
        }
      } catch (failure) {
        if (!controller.signal.aborted) setError(failure);
      }
    };
    void read();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [order_id, attempt]);

  const event_id = order?.event_id;
  useEffect(() => {
    if (!event_id) return;
    const controller = new AbortController();
    getEvent(event_id, controller.signal).then(setEvent, () => {});
    return () => controller.abort();
  }, [event_id]);

  return (
    <>
      <h1 tabIndex={-1}>{t.order_title}</h1>
      {error !== null && <ErrorNotice error={error} onRetry={() => setAttempt((n) => n + 1)} />}
      {order === null && error === null && <p>{t.loading}</p>}
      {order !== null && (
        <>
          {event && (
            <p class="lead">
              <a href={paths.event(event.id)}>{event.name}</a>
              {event.starts_at && <> · {i18n.dateTime(event.starts_at)}</>}
            </p>
          )}
          {order.status === 'confirmed' && <p role="status">{t.order_confirming}</p>}
          {order.status === 'refunded' && <p role="status">{t.order_refunded}</p>}
          {order.status === 'completed' && <Tickets order={order} />}
        </>
      )}
    </>
  );
}

function Tickets({ order }: { order: Order }) {
  const i18n = useI18n();
  const { t } = i18n;
  return (
    <section aria-labelledby="tickets-title">
      <h2 id="tickets-title">{t.your_tickets}</h2>
      <p class="no-print">{t.sent_to(order.email)}</p>
      <p class="no-print">
        <button type="button" onClick={() => window.print()}>
          {t.print}
        </button>
      </p>
      <ul class="tickets">
        {order.tickets.map((ticket) => (
          <li key={ticket.id} class="card ticket">
            <h3>{t.ticket_seat(ticket.seat_id)}</h3>
            <p>{i18n.money(ticket.price_cents, order.currency)}</p>
            {ticket.status === 'revoked' ? <p>{t.ticket_revoked}</p> : <TicketQr ticket={ticket} />}
          </li>
        ))}
      </ul>
      <p class="muted">{order.order_id}</p>
    </section>
  );
}

/** The QR route needs the buyer's session, so the image is fetched and shown from a blob URL. */
function TicketQr({ ticket }: { ticket: Ticket }) {
  const { t } = useI18n();
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    let object_url: string | null = null;
    ticketQr(ticket.id, controller.signal).then(
      (svg) => {
        object_url = URL.createObjectURL(svg);
        setUrl(object_url);
      },
      (failure) => controller.signal.aborted || setError(failure),
    );
    return () => {
      controller.abort();
      if (object_url) URL.revokeObjectURL(object_url);
    };
  }, [ticket.id, attempt]);

  if (error !== null) return <ErrorNotice error={error} onRetry={() => setAttempt((n) => n + 1)} />;
  if (url === null) return <p>{t.ticket_qr_loading}</p>;
  return <img class="qr" src={url} alt={t.ticket_qr(ticket.seat_id)} width={240} height={240} />;
}
