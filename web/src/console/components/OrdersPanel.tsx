// Find an order by its id, see its payment and tickets, and refund it (after a confirmation):
// its seats go back on sale, the payment is refunded and the tickets are revoked.

import { useState } from 'preact/hooks';
import { call, describe, idempotencyKey } from '../api';
import type { Order } from '../types';
import { ConfirmDialog } from './ConfirmDialog';

export function OrdersPanel(props: { currency: string; onRefunded: () => void }) {
  const [order_id, setOrderId] = useState('');
  const [order, setOrder] = useState<Order | null>(null);
  const [outcome, setOutcome] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const money = new Intl.NumberFormat('en', { style: 'currency', currency: props.currency });

  const find = async (event: Event) => {
    event.preventDefault();
    const id = order_id.trim();
    if (!id) return setOutcome('Enter an order ID.');
    setBusy(true);
    try {
      setOrder(await call<Order>(`/v1/orders/${encodeURIComponent(id)}`));
      setOutcome('');
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
          <span>Order ID</span>
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
