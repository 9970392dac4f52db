// The dashboard's figures of now: the line, the seats, the money and the bot defence.

import { growthOver } from '../live';
import type { EventStats, QueueSettings, StatsSeries } from '../types';

function Tile(props: { label: string; value: string; detail?: string }) {
  return (
    <div class="tile">
      <dt>{props.label}</dt>
      <dd>
        <span class="tile-value">{props.value}</span>
        {props.detail && <span class="tile-detail">{props.detail}</span>}
      </dd>
    </div>
  );
}

const number = (value: number) => value.toLocaleString('en');

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function perSecond(series: StatsSeries | null, column: string, window_s: number): string {
  const growth = growthOver(series, column, window_s);
  return growth === null || growth.seconds === 0 ? '—' : (growth.growth / growth.seconds).toFixed(1);
}

function perMinute(series: StatsSeries | null, column: string): string {
  const growth = growthOver(series, column, 60);
  return growth === null || growth.seconds === 0
    ? '—'
    : number(Math.round((growth.growth * 60) / growth.seconds));
}

export function Tiles(props: {
  stats: EventStats;
  series: StatsSeries | null;
  queue: QueueSettings | undefined;
  currency: string;
}) {
  const { stats, series, queue } = props;
  const inventory = stats.inventory;
  const line = stats.queue;
  const orders = stats.orders;
  const capacity = Math.max(inventory.capacity, 1);
  const share = (part: number) => `${((100 * part) / capacity).toFixed(1)}%`;
  const eta =
    line && line.waiting > 0 && !queue?.paused && line.admitted_per_s > 0
      ? duration(line.waiting / line.admitted_per_s)
      : line && line.waiting === 0
        ? 'nobody waiting'
        : '—';
  const money = new Intl.NumberFormat('en', { style: 'currency', currency: props.currency });
  return (
    <section aria-labelledby="now-title">
      <h2 id="now-title">Now</h2>
      <div class="inventory-bar" role="img"
        aria-label={`Seats: ${number(inventory.available)} available, ${number(inventory.held)} held, ${number(inventory.sold)} sold of ${number(inventory.capacity)}`}
      >
        <span class="bar-sold" style={{ width: share(inventory.sold) }} />
        <span class="bar-held" style={{ width: share(inventory.held) }} />
        <span class="bar-available" style={{ width: share(inventory.available) }} />
      </div>
      <p class="bar-legend" aria-hidden="true">
        <span class="key key-sold" /> sold {number(inventory.sold)} <span class="key key-held" />{' '}
        held {number(inventory.held)} <span class="key key-available" /> available{' '}
        {number(inventory.available)}
      </p>
      <dl class="tiles">
        {line && (
          <>
            <Tile label="Waiting" value={number(line.waiting)} detail={`${number(line.joined)} joined`} />
            <Tile
              label="Active"
              value={number(line.active)}
              detail={queue ? `of ${number(queue.max_active)} at most` : undefined}
            />
            <Tile
              label="Admitted a second"
              value={line.admitted_per_s.toFixed(1)}
              detail={queue ? `rate set to ${number(queue.admission_rate_per_s)}` : undefined}
            />
            <Tile label="Last in line gets in" value={eta} detail="at the current pace" />
          </>
        )}
        {orders && (
          <>
            <Tile
              label="Orders a second"
              value={perSecond(series, 'orders.placed', 10)}
              detail={`${number(orders.placed)} placed, ${number(orders.refunded)} refunded`}
            />
            <Tile label="Revenue" value={money.format(orders.revenue_cents / 100)} detail="net of refunds" />
            <Tile
              label="Conversion"
              value={line && line.admitted > 0 ? `${((100 * orders.placed) / line.admitted).toFixed(1)}%` : '—'}
              detail="admitted fans who bought"
            />
          </>
        )}
        <Tile label="Holds expired" value={number(inventory.holds.expired)} detail={`${number(inventory.holds.live)} live`} />
        {stats.defense && (
          <Tile
            label="Defence a minute"
            value={`${perMinute(series, 'defense.allowed')} allowed`}
            detail={`${perMinute(series, 'defense.challenged')} challenged, ${perMinute(series, 'defense.blocked')} blocked`}
          />
        )}
      </dl>
    </section>
  );
}
