// One section's seat map as SVG: a row of seats per row of the section, coloured by price tier,
// taken seats crossed out, wheelchair-accessible seats marked. Every seat is a checkbox named by
// its seat id alone (row, number, tier, price and the rest are its description), so a screen
// reader and a keyboard pick seats as a pointer does, and `101-A-1` never names `101-A-10` too. The map is one tab
// stop (a roving tabindex): the arrow keys move between seats, Home and End go to a row's ends,
// Space or Enter picks.

import { useRef, useState } from 'preact/hooks';
import type { Seat, Section } from '../api/types';
import { useI18n } from '../i18n';

/** Distance between seat centres, in SVG units. */
const kPitch = 28;
const kSeatRadius = 11;
/** Room on the left for row labels. */
const kLabelWidth = 40;
/** Room at the top for the stage. */
const kStageHeight = 44;
/** The smallest the map is drawn at, in CSS pixels per SVG unit (a seat is then ~16 px wide). */
const kMinScale = 0.75;

export interface SeatMapProps {
  section: Section;
  seats: Map<string, Seat>;
  tierClass: (tier_id: string) => string;
  tierName: (tier_id: string) => string;
  currency: string;
  picked: ReadonlySet<string>;
  accessibleOnly: boolean;
  onToggle: (seat: Seat) => void;
}

interface Place {
  seat: Seat;
  x: number;
  y: number;
}

export function seatId(section_id: string, row_label: string, number: number): string {
  return `${section_id}-${row_label}-${number}`;
}

/** The seats laid out row by row; rows are centred on the widest one, as in a hall. */
function layout(section: Section, seats: Map<string, Seat>, accessible_only: boolean): Place[][] {
  const widest = Math.max(...section.rows.map((row) => row.seats));
  return section.rows.map((row, row_index) => {
    const offset = ((widest - row.seats) * kPitch) / 2;
    const places: Place[] = [];
    for (let number = 1; number <= row.seats; ++number) {
      const seat = seats.get(seatId(section.id, row.label, number));
      if (!seat || (accessible_only && !seat.accessible)) continue;
      places.push({
        seat,
        x: kLabelWidth + offset + (number - 0.5) * kPitch,
        y: kStageHeight + (row_index + 0.5) * kPitch,
      });
    }
    return places;
  });
}

/** The place the arrow key leads to from `from`, or null at the map's edge. */
function nextPlace(rows: Place[][], from: Place, key: string): Place | null {
  const row_index = rows.findIndex((row) => row.includes(from));
  const row = rows[row_index];
  const index = row.indexOf(from);
  switch (key) {
    case 'ArrowLeft':
      return row[index - 1] ?? null;
    case 'ArrowRight':
      return row[index + 1] ?? null;
    case 'Home':
      return row[0];
    case 'End':
      return row[row.length - 1];
    case 'ArrowUp':
    case 'ArrowDown': {
      // The nearest seat by position in the next row that has any, so that moving up and down
      // keeps to a column even where rows are of different lengths.
      const step = key === 'ArrowUp' ? -1 : 1;
      for (let r = row_index + step; r >= 0 && r < rows.length; r += step) {
        if (rows[r].length === 0) continue;
        return rows[r].reduce((best, place) =>
          Math.abs(place.x - from.x) < Math.abs(best.x - from.x) ? place : best,
        );
      }
      return null;
    }
    default:
      return null;
  }
}

export function SeatMap(props: SeatMapProps) {
  const i18n = useI18n();
  const { t } = i18n;
  const { section, picked } = props;
  const svg = useRef<SVGSVGElement>(null);
  const [focus_id, setFocusId] = useState<string | null>(null);

  const rows = layout(section, props.seats, props.accessibleOnly);
  const all = rows.flat();
  const widest = Math.max(...section.rows.map((row) => row.seats));
  const width = kLabelWidth * 2 + widest * kPitch;
  const height = kStageHeight + section.rows.length * kPitch + 8;
  // The tab stop: the seat last focused, else the first free one, else the first.
  const tab_stop =
    all.find((place) => place.seat.id === focus_id) ??
    all.find((place) => place.seat.status === 'available') ??
    all[0];

  const onKeyDown = (event: KeyboardEvent) => {
    // The seat the key was pressed on, read from the DOM: focus may have come from anywhere
    // (a click, a screen reader's cursor), not only from these keys.
    const id = (event.target as Element).closest('[data-seat]')?.getAttribute('data-seat');
    const from = all.find((place) => place.seat.id === id);
    if (!from) return;
    if (event.key === ' ' || event.key === 'Enter') {
      event.preventDefault();
      if (from.seat.status === 'available') props.onToggle(from.seat);
      return;
    }
    if (!event.key.startsWith('Arrow') && event.key !== 'Home' && event.key !== 'End') return;
    event.preventDefault();
    const next = nextPlace(rows, from, event.key);
    if (!next) return;
    // Focus moves at once; the tab stop follows with the next render.
    svg.current?.querySelector<SVGGElement>(`[data-seat="${next.seat.id}"]`)?.focus();
    setFocusId(next.seat.id);
  };

  return (
    <svg
      ref={svg}
      class="seat-map"
      role="group"
      aria-label={t.seat_map(section.name)}
      viewBox={`0 0 ${width} ${height}`}
      // The map fills its column and shrinks with it, but not below a size a finger can still
      // pick a seat at; narrower screens scroll it sideways instead. (A style set from script
      // is CSSOM, which the Content-Security-Policy allows, unlike a style attribute in HTML.)
      style={{ minWidth: `${Math.round(width * kMinScale)}px` }}
      onKeyDown={onKeyDown}
    >
      <rect
        class="stage"
        x={kLabelWidth}
        y={4}
        width={width - 2 * kLabelWidth}
        height={24}
        rx={4}
      />
      <text class="stage-label" x={width / 2} y={21} aria-hidden="true">
        {t.stage}
      </text>
      {rows.map((places, row_index) => {
        const label = section.rows[row_index].label;
        const y = kStageHeight + (row_index + 0.5) * kPitch;
        return (
          <g key={label} role="group" aria-label={t.row(label)}>
            <text class="row-label" x={kLabelWidth / 2} y={y + 4} aria-hidden="true">
              {label}
            </text>
            <text class="row-label" x={width - kLabelWidth / 2} y={y + 4} aria-hidden="true">
              {label}
            </text>
            {places.map((place) => (
              <SeatMark
                key={place.seat.id}
                place={place}
                picked={picked.has(place.seat.id)}
                focusable={place === tab_stop}
                tierClass={props.tierClass(place.seat.tier)}
                description={seatDescription(place.seat, props, i18n)}
                onFocus={() => setFocusId(place.seat.id)}
                onToggle={() => {
                  if (place.seat.status === 'available') props.onToggle(place.seat);
                }}
              />
            ))}
          </g>
        );
      })}
    </svg>
  );
}

function seatDescription(
  seat: Seat,
  props: SeatMapProps,
  i18n: ReturnType<typeof useI18n>,
): string {
  const { t } = i18n;
  const parts = [
    t.seat_description(
      seat.row,
      seat.number,
      props.tierName(seat.tier),
      i18n.money(seat.price_cents, props.currency),
    ),
  ];
  if (seat.accessible) parts.push(t.seat_accessible);
  if (seat.status !== 'available') parts.push(t.seat_taken);
  return parts.join(', ');
}

function SeatMark(props: {
  place: Place;
  picked: boolean;
  focusable: boolean;
  tierClass: string;
  description: string;
  onFocus: () => void;
  onToggle: () => void;
}) {
  const { seat, x, y } = props.place;
  const taken = seat.status !== 'available';
  const classes = ['seat', taken ? 'seat-taken' : props.tierClass, props.picked && 'seat-picked']
    .filter(Boolean)
    .join(' ');
  return (
    <g
      class={classes}
      data-seat={seat.id}
      role="checkbox"
      aria-checked={props.picked}
      aria-disabled={taken}
      aria-label={seat.id}
      aria-describedby={`seat-${seat.id}`}
      tabIndex={props.focusable ? 0 : -1}
      onClick={props.onToggle}
      onFocus={props.onFocus}
    >
      <desc id={`seat-${seat.id}`}>{props.description}</desc>
      <circle cx={x} cy={y} r={kSeatRadius} />
      {seat.accessible && (
        <rect class="seat-accessible" x={x - 4} y={y - 4} width={8} height={8} rx={1} />
      )}
      {taken && (
        <path
          class="seat-cross"
          d={`M${x - 5} ${y - 5}L${x + 5} ${y + 5}M${x + 5} ${y - 5}L${x - 5} ${y + 5}`}
        />
      )}
      {props.picked && (
        <path class="seat-check" d={`M${x - 5} ${y}L${x - 1} ${y + 4}L${x + 6} ${y - 4}`} />
      )}
    </g>
  );
}
