// The decision log (GET /v1/defense/decisions): "why was this fan challenged?". The newest scored
// queue joins and holds, newest first, filtered in the server by decision, route and client
// range; each row's features ranked by what they added to the score (weight × value, the
// weights of the model that scored them), and a challenge the score did not ask for marked as
// the event's (`defense.challenge: always`). The newest page follows the log every two seconds
// (the newest matches above what it showed, however fast the log grows); Older and Newer page
// through the ring with `before` and `after`.

import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, describe } from '../api';
import { consolePaths } from '../router';
import {
  kLoggedDecisions,
  kScoredRoutes,
  type DecisionPage,
  type LoggedDecision,
  type ScoredDecision,
  type ScoredRoute,
} from '../types';

const kPageSize = 50;
const kTail_ms = 2000;
/** A `before` above every sequence: the newest page. */
const kNewest = Number.MAX_SAFE_INTEGER;
/** Features shown beside the score; the rest are in the row's details. */
const kTopFeatures = 3;

const kRouteNames: Record<ScoredRoute, string> = { queue_join: 'queue join', hold: 'hold' };

interface Filters {
  decision: LoggedDecision | '';
  route_class: ScoredRoute | '';
  client: string;
}

const kNoFilters: Filters = { decision: '', route_class: '', client: '' };

/** What the table shows, and where the pages beside it begin. */
interface LogView {
  items: ScoredDecision[]; // newest first, at most kPageSize
  next_before: number; // the `before` of the page before (older)
  next_after: number; // the `after` of the page after (newer), or of the next tail
  live: boolean; // the newest page, followed as the log grows
  page: DecisionPage; // the last answer: the ring's bounds and the model
}

function decisionsPath(filters: Filters, bound: { after?: number; before?: number }): string {
  const query = new URLSearchParams();
  if (bound.after !== undefined) query.set('after', String(bound.after));
  if (bound.before !== undefined) query.set('before', String(bound.before));
  query.set('limit', String(kPageSize));
  if (filters.decision) query.set('decision', filters.decision);
  if (filters.route_class) query.set('route_class', filters.route_class);
  if (filters.client) query.set('client', filters.client);
  return `/v1/defense/decisions?${query.toString()}`;
}

function pageView(page: DecisionPage, live: boolean): LogView {
  return {
    items: [...page.items].reverse(),
    next_before: page.next_before,
    next_after: page.next_after,
    live,
    page,
  };
}

async function newestPage(filters: Filters, signal: AbortSignal): Promise<LogView> {
  const page = await call<DecisionPage>(decisionsPath(filters, { before: kNewest }), { signal });
  return pageView(page, true);
}

/**
 * The newest page with what was recorded since `from`: one read of the newest matches above
 * what it showed (`before` the newest, `after` its last), so a log growing faster than a page a
 * tick still shows its newest entries; older ones stay a click on Older away.
 */
async function tailPage(filters: Filters, from: LogView, signal: AbortSignal): Promise<LogView> {
  const page = await call<DecisionPage>(
    decisionsPath(filters, { after: from.next_after, before: kNewest }),
    { signal },
  );
  // The log starts again from 1 when the server restarts.
  if (page.latest < from.next_after) return newestPage(filters, signal);
  // A full page may leave a gap below it: then it is the newest page on its own.
  const fresh = [...page.items].reverse();
  const items = page.items.length < kPageSize ? fresh.concat(from.items) : fresh;
  const shown = items.slice(0, kPageSize);
  return {
    items: shown,
    // The page before starts below the oldest entry shown, or below all that was examined.
    next_before:
      shown.length < items.length || page.items.length >= kPageSize
        ? shown[shown.length - 1].sequence
        : Math.min(from.next_before, page.next_before),
    next_after: page.next_after,
    live: true,
    page,
  };
}

interface Contribution {
  name: string;
  value: number;
  weight: number;
  contribution: number;
}

/** Each feature with what it added to the score's log-odds, largest first. */
export function contributions(
  entry: ScoredDecision,
  weights: Record<string, number>,
): Contribution[] {
  return Object.entries(entry.features)
    .map(([name, value]) => {
      const weight = weights[name] ?? 0;
      return { name, value, weight, contribution: weight * value };
    })
    .sort((a, b) => b.contribution - a.contribution || b.value - a.value);
}

function when(at: string): string {
  const date = new Date(at);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString('en-GB') : date.toLocaleString('en-GB');
}

const kChallenges: ReadonlySet<string> = new Set([
  'challenged',
  'challenge_passed',
  'challenge_failed',
]);

function Why(props: { entry: ScoredDecision; page: DecisionPage }) {
  const all = contributions(props.entry, props.page.model_weights);
  const top = all.filter((item) => item.contribution > 0).slice(0, kTopFeatures);
  // A score below the threshold challenges only where the event challenges every request.
  const by_event =
    kChallenges.has(props.entry.decision) &&
    props.entry.score < props.page.model_thresholds.challenge;
  const features =
    top.length > 0
      ? top.map((item) => `${item.name} +${item.contribution.toFixed(2)}`).join(', ')
      : 'no feature raised the score';
  return (
    <details class="decision-why">
      <summary>{by_event ? `the event challenges every request; ${features}` : features}</summary>
      <dl>
        <dt>Request ID</dt>
        <dd class="nowrap">{props.entry.request_id || '—'}</dd>
        <dt>Sequence</dt>
        <dd>{props.entry.sequence}</dd>
        {all.map((item) => (
          <Fragment key={item.name}>
            <dt>{item.name}</dt>
            <dd>
              {item.value.toFixed(2)} × {item.weight} = {item.contribution.toFixed(2)}
            </dd>
          </Fragment>
        ))}
      </dl>
    </details>
  );
}

export function DecisionLogPanel() {
  const [draft, setDraft] = useState<Filters>(kNoFilters);
  const [filters, setFilters] = useState<Filters>(kNoFilters);
  const [view, setView] = useState<LogView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The timer reads these, not the render's copies.
  const shown = useRef<LogView | null>(null);
  const applied = useRef<Filters>(kNoFilters);
  const inflight = useRef<AbortController | null>(null);

  /**
   * One read at a time: a new one (a filter change, a page move) drops the one before. A read of
   * new filters that fails (a bad prefix) clears the table, which showed the old filters' rows.
   */
  const run = (
    read: (signal: AbortSignal) => Promise<LogView>,
    options: { quiet?: boolean; reset?: boolean } = {},
  ) => {
    inflight.current?.abort();
    const controller = new AbortController();
    inflight.current = controller;
    if (!options.quiet) setBusy(true);
    read(controller.signal)
      .then(
        (next) => {
          if (controller.signal.aborted) return;
          shown.current = next;
          setView(next);
          setError(null);
        },
        (failure) => {
          if (controller.signal.aborted) return;
          setError(describe(failure));
          if (options.reset) {
            shown.current = null;
            setView(null);
          }
        },
      )
      .finally(() => {
        if (inflight.current !== controller) return;
        inflight.current = null;
        setBusy(false);
      });
  };

  useEffect(() => {
    applied.current = filters;
    run((signal) => newestPage(filters, signal), { reset: true });
  }, [filters]);

  useEffect(() => {
    const timer = window.setInterval(() => {
      const from = shown.current;
      if (inflight.current !== null || !from?.live) return;
      run((signal) => tailPage(applied.current, from, signal), { quiet: true });
    }, kTail_ms);
    return () => {
      window.clearInterval(timer);
      inflight.current?.abort();
    };
  }, []);

  const apply = (next: Filters) => setFilters({ ...next, client: next.client.trim() });
  const older = () => {
    const from = shown.current;
    if (!from) return;
    run(async (signal) => {
      const page = await call<DecisionPage>(
        decisionsPath(applied.current, { before: from.next_before }),
        { signal },
      );
      // Nothing older matches: stay on this page, which now knows it is the oldest.
      if (page.items.length === 0) return { ...from, next_before: page.next_before, page };
      return pageView(page, false);
    });
  };
  const newer = () => {
    const from = shown.current;
    if (!from) return;
    run(async (signal) => {
      const page = await call<DecisionPage>(
        decisionsPath(applied.current, { after: from.next_after }),
        { signal },
      );
      // Caught up: the newest page, followed again.
      if (page.next_after >= page.latest) return newestPage(applied.current, signal);
      return pageView(page, false);
    });
  };
  const newest = () => run((signal) => newestPage(applied.current, signal));

  const page = view?.page;
  const held = page === undefined || page.latest === 0 ? 0 : page.latest - page.oldest + 1;
  const filtered = filters.decision !== '' || filters.route_class !== '' || filters.client !== '';
  const has_older =
    view !== null && page !== undefined && page.latest > 0 && view.next_before > page.oldest;
  return (
    <section class="card" aria-labelledby="decisions-title">
      <h2 id="decisions-title">Decision log</h2>
      <p class="muted">
        Every queue join and hold the risk score was computed for, with what the score read. Find
        a fan by their address, or by the request ID their page was answered with (in each row’s
        details).
      </p>
      <form
        class="control-row"
        onSubmit={(event) => {
          event.preventDefault();
          apply(draft);
        }}
        noValidate
      >
        <label>
          <span>Decision</span>
          <select
            value={draft.decision}
            onChange={(event) => {
              const next = { ...draft, decision: event.currentTarget.value as Filters['decision'] };
              setDraft(next);
              apply(next);
            }}
          >
            <option value="">any</option>
            {kLoggedDecisions.map((decision) => (
              <option key={decision} value={decision}>
                {decision}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Route</span>
          <select
            value={draft.route_class}
            onChange={(event) => {
              const next = {
                ...draft,
                route_class: event.currentTarget.value as Filters['route_class'],
              };
              setDraft(next);
              apply(next);
            }}
          >
            <option value="">any</option>
            {kScoredRoutes.map((route) => (
              <option key={route} value={route}>
                {kRouteNames[route]}
              </option>
            ))}
          </select>
        </label>
        <label class="wide">
          <span>Client prefix</span>
          <input
            type="text"
            spellcheck={false}
            autoComplete="off"
            placeholder="203.0.113.0/24"
            value={draft.client}
            onInput={(event) => setDraft({ ...draft, client: event.currentTarget.value })}
          />
          <span class="hint">an address or a CIDR range</span>
        </label>
        <button type="submit" disabled={busy}>
          Filter
        </button>
      </form>
      {error && (
        <p class="notice notice-error" role="alert">
          {error}
        </p>
      )}
      {view && page && (
        <>
          <p>
            {view.live
              ? 'The newest entries, newest first; refreshed every 2 seconds.'
              : 'Older entries, newest first; not refreshing.'}{' '}
            <span class="muted">
              The log holds {held.toLocaleString('en')} of at most{' '}
              {page.capacity.toLocaleString('en')} decisions, scored by model {page.model_version}{' '}
              (challenge from {page.model_thresholds.challenge}, block from{' '}
              {page.model_thresholds.block}).
            </span>
          </p>
          {view.items.length === 0 ? (
            <p>
              {filtered
                ? 'No decision here matches the filters.'
                : 'No decision recorded yet. Queue joins and holds are logged here once scored.'}
            </p>
          ) : (
            <div class="table-scroll" tabIndex={0} role="region" aria-label="Decision log entries">
              <table class="decision-table" aria-labelledby="decisions-title">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Route</th>
                    <th scope="col">Event</th>
                    <th scope="col">Client</th>
                    <th scope="col">Score</th>
                    <th scope="col">Decision</th>
                    <th scope="col">Why (top features)</th>
                  </tr>
                </thead>
                <tbody>
                  {view.items.map((entry) => (
                    <tr key={entry.sequence}>
                      <td class="nowrap">
                        <time dateTime={entry.at}>{when(entry.at)}</time>
                      </td>
                      <td class="nowrap">{kRouteNames[entry.route_class] ?? entry.route_class}</td>
                      <td>
                        {entry.event_id ? (
                          <a href={consolePaths.event(entry.event_id)}>{entry.event_id}</a>
                        ) : (
                          '—'
                        )}
                      </td>
                      <td class="nowrap">{entry.client}</td>
                      <td>{entry.score.toFixed(3)}</td>
                      <td>
                        <span class={`badge badge-decision-${entry.decision}`}>
                          {entry.decision}
                        </span>
                      </td>
                      <td>
                        <Why entry={entry} page={page} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <div class="button-row">
            <button type="button" disabled={busy || view.live} onClick={newer}>
              Newer
            </button>
            <button type="button" disabled={busy || !has_older} onClick={older}>
              Older
            </button>
            {!view.live && (
              <button type="button" disabled={busy} onClick={newest}>
                Newest
              </button>
            )}
          </div>
        </>
      )}
    </section>
  );
}
