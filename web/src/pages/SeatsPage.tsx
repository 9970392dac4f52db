// `/events/{id}/seats`: best available by quantity, or seats picked on a section's map. The map
// is read again every few seconds while the fan looks, with If-None-Match so that an unchanged
// map costs a 304. A hold that loses a race (409 `seat_conflict`) shows the seats the server
// offers instead.

import { useEffect, useRef, useState } from 'preact/hooks';
import { createHold, getEvent, sectionSeats } from '../api/boxoffice';
import { ApiError } from '../api/client';
import type { EventDetail, HoldRequest, Seat, SeatConflictDetails, SeatRef } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { SeatMap } from '../components/SeatMap';
import { useI18n } from '../i18n';
import { useDocumentTitle, useLoad } from '../lib/hooks';
import { navigate, paths } from '../lib/router';
import { admission, heldSeats } from '../lib/storage';

/** How often the map is read again while the fan looks at it. */
const kSeatRefresh_ms = 5_000;
/** Price tiers get one of this many colours (styles/app.css, `.tier-N`), in the event's order. */
const kTierColours = 6;

type Notice =
  | { kind: 'conflict'; conflicts: string[]; alternatives: SeatRef[] }
  | { kind: 'not_enough'; quantity: number }
  | { kind: 'needs_admission' }
  | { kind: 'taken_meanwhile'; ids: string[] }
  | { kind: 'pick_limit' }
  | { kind: 'error'; error: unknown };

export function SeatsPage({ event_id }: { event_id: string }) {
  const { t } = useI18n();
  useDocumentTitle(t.seats_title, t.site_name);
  const [loaded, reload] = useLoad((signal) => getEvent(event_id, signal), [event_id]);

  if (loaded.state === 'loading') return <p>{t.loading}</p>;
  if (loaded.state === 'failed') return <ErrorNotice error={loaded.error} onRetry={reload} />;
  return <SeatChooser event={loaded.value} />;
}

function SeatChooser({ event }: { event: EventDetail }) {
  const i18n = useI18n();
  const { t } = i18n;
  const per_order = event.limits.per_order;
  const needs_access = event.queue.enabled;
  const [section_id, setSectionId] = useState(event.sections[0]?.id ?? '');
  const [seats, setSeats] = useState<Map<string, Seat> | null>(null);
  const [picked, setPicked] = useState<Map<string, SeatRef>>(new Map());
  const [quantity, setQuantity] = useState(Math.min(2, per_order));
  const [accessible_only, setAccessibleOnly] = useState(false);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [refresh, setRefresh] = useState(0);
  const etags = useRef(new Map<string, string>());
  const shown_section = useRef<string | null>(null);
  const picked_now = useRef(picked);
  picked_now.current = picked;

  // Holds need the waiting room's access token; without one the fan goes back in line.
  useEffect(() => {
    if (needs_access && !admission.get(event.id))
      navigate(paths.queue(event.id), { replace: true });
  }, [event.id, needs_access]);

  useEffect(() => {
    const controller = new AbortController();
    let timer = 0;
    const read = async () => {
      try {
        const answer = await sectionSeats(
          event.id,
          section_id,
          etags.current.get(section_id) ?? null,
          controller.signal,
        );
        if (answer) {
          if (answer.etag) etags.current.set(section_id, answer.etag);
          const map = new Map(answer.seats.map((seat) => [seat.id, seat]));
          setSeats(map);
          dropTakenPicks(map);
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        setNotice({ kind: 'error', error });
      }
      if (!controller.signal.aborted) timer = window.setTimeout(tick, kSeatRefresh_ms);
    };
    // A hidden tab does not need a fresh map; it gets one when it is looked at again.
    const tick = () =>
      document.hidden ? (timer = window.setTimeout(tick, kSeatRefresh_ms)) : read();
    // A new section's map is not the old one's: drop the old one, and the tag its last visit
    // left, which would answer 304 for a map no longer shown.
    if (shown_section.current !== section_id) {
      shown_section.current = section_id;
      setSeats(null);
      etags.current.delete(section_id);
    }
    void read();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [event.id, section_id, refresh]);

  /** Seats picked earlier that someone else took meanwhile are let go, and the fan is told. */
  function dropTakenPicks(map: Map<string, Seat>) {
    const gone = [...picked_now.current.keys()].filter((id) => {
      const seat = map.get(id);
      return seat !== undefined && seat.status !== 'available';
    });
    if (gone.length === 0) return;
    const next = new Map(picked_now.current);
    for (const id of gone) next.delete(id);
    setPicked(next);
    setNotice({ kind: 'taken_meanwhile', ids: gone });
  }

  const toggle = (seat: Seat) => {
    const next = new Map(picked);
    if (next.has(seat.id)) next.delete(seat.id);
    else if (next.size >= per_order) return setNotice({ kind: 'pick_limit' });
    else next.set(seat.id, { id: seat.id, version: seat.version });
    setPicked(next);
    setNotice(null);
  };

  const hold = async (request: HoldRequest) => {
    const access = needs_access ? (admission.get(event.id)?.access_token ?? null) : null;
    if (needs_access && !access) return setNotice({ kind: 'needs_admission' });
    setBusy(true);
    setNotice(null);
    try {
      const held = await createHold(event.id, request, access);
      heldSeats.set(event.id, held.hold_id);
      navigate(paths.checkout(event.id, held.hold_id));
    } catch (error) {
      setBusy(false);
      if (!(error instanceof ApiError)) return setNotice({ kind: 'error', error });
      if (error.code === 'seat_conflict') {
        const details = error.details as unknown as SeatConflictDetails;
        setPicked(new Map());
        setNotice({
          kind: 'conflict',
          conflicts: details.conflicts ?? [],
          alternatives: details.alternatives ?? [],
        });
        setRefresh((n) => n + 1);
      } else if (error.code === 'not_enough_seats') {
        setNotice({ kind: 'not_enough', quantity: Number(error.details.quantity) || quantity });
      } else if (error.code === 'missing_access_token' || error.code === 'invalid_access_token') {
        admission.clear(event.id);
        setNotice({ kind: 'needs_admission' });
      } else {
        setNotice({ kind: 'error', error });
      }
    }
  };

  const tier_index = new Map(event.price_tiers.map((tier, index) => [tier.id, index]));
  const tier_names = new Map(event.price_tiers.map((tier) => [tier.id, tier.name]));
  const tierClass = (tier_id: string) => `tier-${(tier_index.get(tier_id) ?? 0) % kTierColours}`;
  const section = event.sections.find((candidate) => candidate.id === section_id);
  const available = seats ? [...seats.values()].filter((seat) => seat.status === 'available') : [];

  return (
    <>
      <p class="breadcrumb">
        <a href={paths.event(event.id)}>{event.name}</a>
      </p>
      <h1 tabIndex={-1}>{t.seats_title}</h1>
      {notice && (
        <NoticeView
          notice={notice}
          event={event}
          busy={busy}
          onHoldAlternatives={(seats) => hold({ seats })}
        />
      )}
      <div class="seats-layout">
        <div class="seats-controls">
          <form
            class="card"
            onSubmit={(submit) => {
              submit.preventDefault();
              void hold({
                best_available: { quantity, ...(accessible_only ? { accessible: true } : {}) },
              });
            }}
          >
            <h2>{t.best_available}</h2>
            <p>{t.best_available_hint}</p>
            <label class="field">
              <span>{t.quantity}</span>
              <select
                value={quantity}
                onChange={(change) => setQuantity(Number(change.currentTarget.value))}
              >
                {Array.from({ length: per_order }, (_, index) => index + 1).map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit" class="button-primary" disabled={busy}>
              {t.find_seats}
            </button>
          </form>

          <div class="card">
            <h2>{t.pick_on_map}</h2>
            <label class="field">
              <span>{t.section}</span>
              <select
                value={section_id}
                onChange={(change) => setSectionId(change.currentTarget.value)}
              >
                {event.sections.map((candidate) => (
                  <option key={candidate.id} value={candidate.id}>
                    {candidate.name} · {tier_names.get(candidate.tier) ?? candidate.tier}
                  </option>
                ))}
              </select>
            </label>
            <label class="check">
              <input
                type="checkbox"
                checked={accessible_only}
                onChange={(change) => setAccessibleOnly(change.currentTarget.checked)}
              />
              <span>{t.accessible_only}</span>
            </label>
            <Legend event={event} tierClass={tierClass} />
          </div>
        </div>

        <div class="seats-map">
          {section && seats ? (
            <>
              <p>
                {t.seats_available_count(available.length, seats.size)} · {t.map_keys_hint}
              </p>
              <div class="map-scroll">
                <SeatMap
                  section={section}
                  seats={seats}
                  tierClass={tierClass}
                  tierName={(tier_id) => tier_names.get(tier_id) ?? tier_id}
                  currency={event.currency}
                  picked={new Set(picked.keys())}
                  accessibleOnly={accessible_only}
                  onToggle={toggle}
                />
              </div>
            </>
          ) : (
            <p>{t.loading}</p>
          )}
          {/* Below the map, where the fan's eye and the tab order go after picking. */}
          <p aria-live="polite" class="picked">
            {picked.size === 0
              ? t.picked_none
              : `${t.picked(picked.size)}: ${[...picked.keys()].join(', ')}`}
          </p>
          <div class="button-row">
            <button
              type="button"
              class="button-primary"
              disabled={busy || picked.size === 0}
              onClick={() => hold({ seats: [...picked.values()] })}
            >
              {t.hold_seats}
            </button>
            {picked.size > 0 && (
              <button type="button" onClick={() => setPicked(new Map())}>
                {t.clear_picks}
              </button>
            )}
          </div>
          {busy && <p role="status">{t.seats_holding}</p>}
        </div>
      </div>
    </>
  );
}

function Legend({ event, tierClass }: { event: EventDetail; tierClass: (tier: string) => string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const swatch = (classes: string, mark?: 'accessible' | 'taken' | 'picked') => (
    <svg class="swatch" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
      <g class={`seat ${classes}`}>
        <circle cx="12" cy="12" r="10" />
        {mark === 'accessible' && (
          <rect class="seat-accessible" x="8" y="8" width="8" height="8" rx="1" />
        )}
        {mark === 'taken' && <path class="seat-cross" d="M7 7L17 17M17 7L7 17" />}
        {mark === 'picked' && <path class="seat-check" d="M7 12L11 16L18 8" />}
      </g>
    </svg>
  );
  return (
    <div class="legend">
      <h3>{t.legend}</h3>
      <ul>
        {event.price_tiers.map((tier) => (
          <li key={tier.id}>
            {swatch(tierClass(tier.id))}
            {tier.name}, {i18n.money(tier.price_cents, event.currency)}
          </li>
        ))}
        <li>
          {swatch('seat-taken', 'taken')}
          {t.legend_taken}
        </li>
        <li>
          {swatch(`${tierClass(event.price_tiers[0]?.id ?? '')} seat-picked`, 'picked')}
          {t.legend_selected}
        </li>
        <li>
          {swatch(tierClass(event.price_tiers[0]?.id ?? ''), 'accessible')}
          {t.legend_accessible}
        </li>
      </ul>
    </div>
  );
}

function NoticeView(props: {
  notice: Notice;
  event: EventDetail;
  busy: boolean;
  onHoldAlternatives: (seats: SeatRef[]) => void;
}) {
  const { t } = useI18n();
  const { notice } = props;
  switch (notice.kind) {
    case 'conflict':
      return (
        <div class="notice notice-error" role="alert">
          <h2>{t.conflict_title}</h2>
          <p>{t.conflict_text(notice.conflicts.join(', '))}</p>
          {notice.alternatives.length > 0 ? (
            <>
              <p>{t.conflict_alternatives}</p>
              <ul class="alternatives">
                {notice.alternatives.map((seat) => (
                  <li key={seat.id}>{seat.id}</li>
                ))}
              </ul>
              <button
                type="button"
                class="button-primary"
                disabled={props.busy}
                onClick={() => props.onHoldAlternatives(notice.alternatives)}
              >
                {t.hold_alternatives}
              </button>
            </>
          ) : (
            <p>{t.conflict_no_alternatives}</p>
          )}
        </div>
      );
    case 'not_enough':
      return (
        <div class="notice notice-error" role="alert">
          <p>{t.not_enough_seats(notice.quantity)}</p>
        </div>
      );
    case 'needs_admission':
      return (
        <div class="notice notice-error" role="alert">
          <p>{t.needs_admission}</p>
          <a class="button" href={paths.queue(props.event.id)}>
            {t.queue_join_again}
          </a>
        </div>
      );
    case 'taken_meanwhile':
      return (
        <div class="notice" role="status">
          <p>{t.seats_taken_meanwhile(notice.ids.join(', '))}</p>
        </div>
      );
    case 'pick_limit':
      return (
        <div class="notice" role="status">
          <p>{t.pick_limit(props.event.limits.per_order)}</p>
        </div>
      );
    case 'error':
      return <ErrorNotice error={notice.error} />;
  }
}
