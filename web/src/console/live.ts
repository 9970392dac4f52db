// One event's figures, one second fresh: the stats snapshot and the history behind the charts.
// The first read takes the whole hour the server keeps (GET .../stats/series), later ones only
// what came since, so a reload keeps the picture and a second costs two small reads.

import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { call, describe } from './api';
import type { EventStats, StatsSeries } from './types';

const kRefresh_ms = 1000;
const kSamplesMax = 3600;

export interface Live {
  stats: EventStats | null;
  series: StatsSeries | null;
  error: string | null;
  updated_at: number | null;
}

function merge(old: StatsSeries | null, fresh: StatsSeries): StatsSeries {
  if (old === null) return fresh;
  const drop = Math.max(0, old.t.length + fresh.t.length - kSamplesMax);
  const series: StatsSeries['series'] = {};
  for (const [name, values] of Object.entries(fresh.series)) {
    series[name] = [...(old.series[name] ?? old.t.map(() => null)), ...values].slice(drop);
  }
  return { ...fresh, t: [...old.t, ...fresh.t].slice(drop), series };
}

export function useLive(event_id: string, onRefused: () => void): Live {
  const [live, setLive] = useState<Live>({
    stats: null,
    series: null,
    error: null,
    updated_at: null,
  });
  useEffect(() => {
    const controller = new AbortController();
    const path = `/v1/events/${encodeURIComponent(event_id)}`;
    let series: StatsSeries | null = null;
    let timer = 0;
    const tick = async () => {
      try {
        const since = series && series.t.length > 0 ? `?since=${series.t[series.t.length - 1]}` : '';
        const [stats, fresh] = await Promise.all([
          call<EventStats>(`${path}/stats`, { signal: controller.signal }),
          call<StatsSeries>(`${path}/stats/series${since}`, { signal: controller.signal }),
        ]);
        series = merge(series, fresh);
        setLive({ stats, series, error: null, updated_at: Date.now() });
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.status === 401) return onRefused();
        setLive((old) => ({ ...old, error: describe(error) }));
      }
      if (!controller.signal.aborted) timer = window.setTimeout(tick, kRefresh_ms);
    };
    void tick();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [event_id]);
  return live;
}

/** A counter column as a per-second rate: null where a sample or its predecessor is missing. */
export function rateOf(series: StatsSeries, column: string): (number | null)[] {
  const values = series.series[column] ?? [];
  return values.map((value, i) => {
    const before = i > 0 ? values[i - 1] : null;
    const dt = i > 0 ? series.t[i] - series.t[i - 1] : 0;
    if (value === null || before === null || before === undefined || dt <= 0) return null;
    return Math.max(0, (value - before) / dt);
  });
}

/** How much a counter grew over the last `seconds` of the series (null without two samples). */
export function growthOver(series: StatsSeries | null, column: string, seconds: number) {
  if (series === null || series.t.length < 2) return null;
  const values = series.series[column] ?? [];
  const last = series.t.length - 1;
  let first = last;
  while (first > 0 && series.t[last] - series.t[first - 1] <= seconds) --first;
  const a = values[first];
  const b = values[last];
  if (a === null || b === null || a === undefined || b === undefined || first === last) return null;
  return { growth: b - a, seconds: series.t[last] - series.t[first] };
}
