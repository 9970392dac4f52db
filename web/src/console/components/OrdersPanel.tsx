// Find an order by its id or by the buyer's email, see its payment and tickets, and refund it
// (after a confirmation): its seats go back on sale, the payment is refunded and the tickets are
// revoked. An address with several orders lists them, newest first, to pick one.

import { useState } from 'preact/hooks';
import { call, describe, idempotencyKey } from '../api';
import type { Order } from '../types';
import { ConfirmDialog } from './ConfirmDialog';

export function OrdersPanel(props: { currency: string; onRefunded: () => void }) {
  const [order_id, setOrderId] = useState('');
  const [order, setOrder] = useState<Order | null>(null);
  const [matches, setMatches] = useState<Order[]>([]);
  const [outcome, setOutcome] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const money = new Intl.NumberFormat('en', { style: 'currency', currency: props.currency });

  const find = async (event: Event) => {
    event.preventDefault();
    const wanted = order_id.trim();
    if (!wanted) return setOutcome('Enter an order ID or the buyer’s email.');
    setBusy(true);
    setMatches([]);
    try {
      if (wanted.includes('@')) {
        const found = await call<{ items: Order[] }>(
          `/v1/orders?email=${encodeURIComponent(wanted)}`,
        );
        setOrder(found.items.length === 1 ? found.items[0] : null);
        if (found.items.length > 1) setMatches(found.items);
        setOutcome(
          found.items.length === 0
            ? `No order was placed with ${wanted}.`
            : found.items.length > 1
              ? `${found.items.length} orders were placed with ${wanted}; pick one.`
              : '',
        );
      } else {
        setOrder(await call<Order>(`/v1/orders/${encodeURIComponent(wanted)}`));
        setOutcome('');
      }
    } catch (error) {
      setOrder(null);
      setOutcome(describe(error));
    } finally {
      setBusy(false);
    }
  };
  const refund = async () => {
    setConfirming(false);
    if (!order) return;
    setBusy(true);
    try {
      const refunded = await call<Order>(`/v1/orders/${encodeURIComponent(order.order_id)}/refund`, {
        method: 'POST',
        headers: { 'Idempotency-Key': idempotencyKey() },
        body: {},
      });
      setOrder(refunded);
      setOutcome(`Order ${refunded.order_id} refunded; its seats are on sale again.`);
      props.onRefunded();
    } catch (error) {
      setOutcome(describe(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="orders-title">
      <h2 id="orders-title">Orders</h2>
      <form class="control-row" onSubmit={find} noValidate>
        <label class="wide">
          <span>Order ID or email</span>
          <input
            type="text"
            spellcheck={false}
            value={order_id}
            onInput={(event) => setOrderId(event.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Find order
        </button>
      </form>
      {matches.length > 0 && (
        <ul class="order-matches" aria-label="Orders found">
          {matches.map((match) => (
            <li key={match.order_id}>
              <button
                type="button"
                aria-pressed={order?.order_id === match.order_id}
                onClick={() => setOrder(match)}
              >
                {match.order_id} · {match.status} · {money.format(match.total_cents / 100)}
              </button>
            </li>
          ))}
        </ul>
      )}
      {order && (
        <div class="order-found">
          <dl class="facts">
            <dt>Order</dt>
            <dd>{order.order_id}</dd>
            <dt>Status</dt>
            <dd>{order.status}</dd>
            {order.email && (
              <>
                <dt>Email</dt>
                <dd>{order.email}</dd>
              </>
            )}
            <dt>Total</dt>
            <dd>{money.format(order.total_cents / 100)}</dd>
            <dt>Payment</dt>
            <dd>
              {order.payment?.status ?? '—'}
              {order.payment?.gateway ? ` via ${order.payment.gateway}` : ''}
            </dd>
            <dt>Seats</dt>
            <dd>{(order.tickets ?? []).map((ticket) => ticket.seat_id).join(', ') || '—'}</dd>
          </dl>
          <button
            type="button"
            class="button-danger"
            disabled={busy || order.status === 'refunded'}
            onClick={() => setConfirming(true)}
          >
            Refund
          </button>
        </div>
      )}
      <p role="status" class="outcome">
        {outcome}
      </p>
      <ConfirmDialog
        open={confirming}
        title="Refund this order?"
        onConfirm={refund}
        onCancel={() => setConfirming(false)}
      >
        <p>
          {order
            ? `${money.format(order.total_cents / 100)} goes back to the buyer, the tickets stop working and the seats go on sale again.`
            : ''}
        </p>
      </ConfirmDialog>
    </section>
  );
}
