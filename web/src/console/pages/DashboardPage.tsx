// One event's dashboard: the controls, the figures of now, the card gateways, the busiest client
// networks, the last hour in charts, the door, orders and the audit log. Everything but the controls reads itself again
// every second or few.

import { useMemo, useState } from 'preact/hooks';
import { useLoad } from '../../lib/hooks';
import { call, describe } from '../api';
import { AuditPanel } from '../components/AuditPanel';
import { ClientsPanel } from '../components/ClientsPanel';
import { Chart, type Line } from '../components/Chart';
import { Controls } from '../components/Controls';
import { GatewaysPanel } from '../components/GatewaysPanel';
import { OrdersPanel } from '../components/OrdersPanel';
import { ScannerKeyPanel } from '../components/ScannerKeyPanel';
import { Tiles } from '../components/Tiles';
import { rateOf, useLive } from '../live';
import { consolePaths } from '../router';
import type { EventListItem, QueueSettings, StatsSeries } from '../types';

// Colours that keep apart for the common colour-vision deficiencies (Okabe–Ito).
const kBlue = '#0072b2';
const kOrange = '#d55e00';
const kGreen = '#009e73';
const kGrey = '#555555';

function charts(series: StatsSeries): { title: string; lines: Line[] }[] {
  const column = (name: string) => series.series[name] ?? series.t.map(() => null);
  return [
    {
      title: 'Queue',
      lines: [
        { label: 'waiting', values: column('queue.waiting'), colour: kBlue },
        { label: 'active', values: column('queue.active'), colour: kOrange },
      ],
    },
    {
      title: 'Admissions a second',
      lines: [
        { label: 'admitted', values: rateOf(series, 'queue.admitted'), colour: kGreen },
        {
          label: 'rate set',
          values: column('queue.settings.admission_rate_per_s'),
          colour: kGrey,
          dash: [6, 4],
        },
      ],
    },
    {
      title: 'Seats',
      lines: [
        { label: 'sold', values: column('inventory.sold'), colour: kBlue },
        { label: 'held', values: column('inventory.held'), colour: kOrange },
        { label: 'available', values: column('inventory.available'), colour: kGreen },
      ],
    },
    {
      title: 'Orders and expired holds a second',
      lines: [
        { label: 'orders', values: rateOf(series, 'orders.placed'), colour: kBlue },
        { label: 'holds expired', values: rateOf(series, 'inventory.holds.expired'), colour: kOrange },
      ],
    },
  ];
}

export function DashboardPage(props: { event_id: string; onRefused: () => void }) {
  const [event, reload] = useLoad(
    (signal) => call<EventListItem>(`/v1/events/${encodeURIComponent(props.event_id)}`, { signal }),
    [props.event_id],
  );
  const live = useLive(props.event_id, props.onRefused);
  const [queue, setQueue] = useState<QueueSettings | null>(null);
  const [actions, setActions] = useState(0);
  const shown_queue = queue ?? (event.state === 'ready' ? event.value.queue : undefined);
  const plotted = useMemo(() => (live.series ? charts(live.series) : []), [live.series]);

  if (event.state === 'loading') return <p>Loading the event…</p>;
  if (event.state === 'failed') {
    return (
      <>
        <h1 tabIndex={-1}>Event</h1>
        <div class="notice notice-error" role="alert">
          <p>{describe(event.error)}</p>
          <button type="button" onClick={reload}>
            Retry
          </button>
        </div>
        <p>
          <a href={consolePaths.events()}>Back to the events</a>
        </p>
      </>
    );
  }
  const currency = event.value.currency || 'USD';
  return (
    <>
      <p class="breadcrumb">
        <a href={consolePaths.events()}>Events</a>
      </p>
      <h1 tabIndex={-1}>{event.value.name}</h1>
      <p class="muted">
        {event.value.id}
        {live.updated_at !== null &&
          ` · updated ${new Date(live.updated_at).toLocaleTimeString('en-GB')}`}
      </p>
      {live.error && (
        <p class="notice notice-error" role="alert">
          {live.error}
        </p>
      )}
      <div class="dashboard">
        <div class="dashboard-main">
          {live.stats ? (
            <Tiles stats={live.stats} series={live.series} queue={shown_queue} currency={currency} />
          ) : (
            <p>Reading the figures…</p>
          )}
          <GatewaysPanel />
          <ClientsPanel event_id={props.event_id} />
          {live.series && (
            <section aria-labelledby="history-title">
              <h2 id="history-title">Last hour</h2>
              <div class="charts">
                {plotted.map((chart) => (
                  <Chart key={chart.title} title={chart.title} t={live.series!.t} lines={chart.lines} />
                ))}
              </div>
            </section>
          )}
        </div>
        <div class="dashboard-side">
          {shown_queue?.enabled ? (
            <Controls
              event_id={props.event_id}
              queue={shown_queue}
              onChanged={(now) => {
                setQueue(now);
                setActions((n) => n + 1);
              }}
            />
          ) : (
            <section class="card">
              <h2>Controls</h2>
              <p>This event has no waiting room: fans shop at once, so there is nothing to pace.</p>
            </section>
          )}
          <ScannerKeyPanel event_id={props.event_id} />
          <OrdersPanel currency={currency} onRefunded={() => setActions((n) => n + 1)} />
        </div>
      </div>
      <AuditPanel version={actions} />
    </>
  );
}
