// The new-event form's model: what the operator has typed (every field kept as text, so nothing
// typed is lost when the server refuses it), turned into the event definition POST /v1/events
// takes (src/catalog/event.cpp is its one validator), and the server's field paths
// (`sections[1].rows[0].seats`) turned back into the form fields they blame.
//
// A section is drawn as rows × seats per row: rows are labelled A, B, … Z, AA, AB, … from the
// front, every row has the same number of seats, and the accessible seats are written as a row
// and its seat numbers, e.g. "A1-4, C10". An uploaded definition that fits that shape loads into
// the form; one that does not (rows of different lengths) is created as it is.

import type { PriceTier, Section } from '../api/types';

export type QueuePolicy = 'fifo' | 'shuffle_prequeue';
export type ChallengeMode = 'risk' | 'always' | 'off';

export interface TierDraft {
  key: number;
  id: string;
  name: string;
  /** In major units, as typed ("25", "19.99"). */
  price: string;
}

export interface SectionDraft {
  key: number;
  id: string;
  name: string;
  /** The key of the TierDraft this section is sold at; "" when none is chosen. */
  tier_key: string;
  rows: string;
  seats_per_row: string;
  /** Row and seat numbers, e.g. "A1-4, C10". */
  accessible: string;
}

export interface EventDraft {
  name: string;
  venue: string;
  /** datetime-local values, the operator's local time ("2030-05-01T19:00"). */
  onsale_at: string;
  starts_at: string;
  currency: string;
  tiers: TierDraft[];
  sections: SectionDraft[];
  per_order: string;
  per_customer: string;
  hold_ttl_s: string;
  queue_enabled: boolean;
  policy: QueuePolicy;
  admission_rate_per_s: string;
  max_active: string;
  access_ttl_s: string;
  challenge: ChallengeMode;
}

// The server's bounds the form itself needs (docs/api.md, "Events"); the rest it leaves to the
// server, whose answer names the field.
export const kRowsPerSectionMax = 500;
export const kRowSeatsMax = 2000;
const kPriceCentsMax = 100_000_000;

let last_key = 0;
/** A key that tells one tier or section of the form from another for as long as the page lives. */
export function newKey(): number {
  return ++last_key;
}

export function newTier(id = '', name = '', price = ''): TierDraft {
  return { key: newKey(), id, name, price };
}

export function newSection(tier_key: string, id = '', name = ''): SectionDraft {
  return { key: newKey(), id, name, tier_key, rows: '10', seats_per_row: '20', accessible: '' };
}

/** A draft a minimal submit turns into a valid event: only the name is left to type. */
export function defaultDraft(): EventDraft {
  const tier = newTier('A', 'Standard', '50.00');
  return {
    name: '',
    venue: '',
    onsale_at: '',
    starts_at: '',
    currency: 'USD',
    tiers: [tier],
    sections: [newSection(String(tier.key), '101', 'Section 101')],
    per_order: '8',
    per_customer: '8',
    hold_ttl_s: '600',
    queue_enabled: true,
    policy: 'fifo',
    admission_rate_per_s: '100',
    max_active: '5000',
    access_ttl_s: '600',
    challenge: 'risk',
  };
}

// ---- Rows and accessible seats ----------------------------------------------------------------

/** The label of the row `index` places from the front: A … Z, AA, AB, … as spreadsheets do. */
export function rowLabel(index: number): string {
  let label = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    label = String.fromCharCode(65 + ((n - 1) % 26)) + label;
  }
  return label;
}

/** A whole number from 0 up, or null for anything else (empty, "2.5", "ten"). */
function wholeNumber(text: string): number | null {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : null;
}

export type Accessible = { ok: true; seats: Map<string, number[]> } | { ok: false; error: string };

/** Reads "A1-4, C10" into row label → seat numbers (sorted, once each). */
export function parseAccessible(text: string): Accessible {
  const seats = new Map<string, Set<number>>();
  for (const part of text.split(/[,;]/)) {
    const item = part.trim();
    if (item === '') continue;
    const match = /^([A-Za-z]+)\s*(\d+)(?:\s*[-–]\s*(\d+))?$/.exec(item);
    if (!match) {
      const error = `has “${item}”, which is no row and seats such as A1-4 or C10`;
      return { ok: false, error };
    }
    const label = match[1].toUpperCase();
    const first = Number(match[2]);
    const last = match[3] === undefined ? first : Number(match[3]);
    if (last < first) {
      const error = `has “${item}”, which counts down: write ${label}${last}-${first}`;
      return { ok: false, error };
    }
    if (last - first >= kRowSeatsMax) {
      const error = `has “${item}”, more seats than a row holds (${kRowSeatsMax})`;
      return { ok: false, error };
    }
    const row = seats.get(label) ?? new Set<number>();
    for (let n = first; n <= last; ++n) row.add(n);
    seats.set(label, row);
  }
  const sorted = new Map<string, number[]>();
  for (const [label, numbers] of seats) sorted.set(label, [...numbers].sort((a, b) => a - b));
  return { ok: true, seats: sorted };
}

/** Writes seat numbers back the way an operator would: runs as ranges, "A1-4, A9". */
function formatAccessible(label: string, numbers: number[]): string[] {
  const parts: string[] = [];
  for (let i = 0; i < numbers.length; ) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) ++j;
    parts.push(i === j ? `${label}${numbers[i]}` : `${label}${numbers[i]}-${numbers[j]}`);
    i = j + 1;
  }
  return parts;
}

/** The seats a section of the form holds, when its rows and seats are whole numbers. */
export function sectionSeats(section: SectionDraft): { seats: number; accessible: number } | null {
  const rows = wholeNumber(section.rows);
  const per_row = wholeNumber(section.seats_per_row);
  if (rows === null || per_row === null) return null;
  const accessible = parseAccessible(section.accessible);
  let count = 0;
  if (accessible.ok) for (const numbers of accessible.seats.values()) count += numbers.length;
  return { seats: rows * per_row, accessible: count };
}

// ---- Times and money --------------------------------------------------------------------------

/** A datetime-local value (the operator's local time) as RFC 3339 UTC, or null when invalid. */
export function toUtc(local: string): string | null {
  const time = new Date(local);
  if (Number.isNaN(time.getTime())) return null;
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An RFC 3339 time as a datetime-local value in the operator's local time. */
function toLocal(rfc3339: string): string {
  const time = new Date(rfc3339);
  if (Number.isNaN(time.getTime())) return '';
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${time.getFullYear()}-${two(time.getMonth() + 1)}-${two(time.getDate())}` +
    `T${two(time.getHours())}:${two(time.getMinutes())}`
  );
}

/** "19.99" → 1999, in whole cents and without floating point; null when it is no price. */
export function toCents(text: string): number | null {
  const match = /^(\d+)(?:[.,](\d{1,2}))?$/.exec(text.trim());
  if (!match) return null;
  const cents = Number(match[1]) * 100 + Number((match[2] ?? '0').padEnd(2, '0'));
  return Number.isSafeInteger(cents) ? cents : null;
}

function fromCents(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

// ---- Field keys -------------------------------------------------------------------------------

// A form field is named by a key that outlives removals: a tier's or section's draft key, not its
// place in the list ("tier.7.price", "section.9.accessible"); the top-level fields by their name.

export const tierField = (key: number, field: 'id' | 'name' | 'price') => `tier.${key}.${field}`;
export const sectionField = (
  key: number,
  field: 'id' | 'name' | 'tier' | 'rows' | 'seats_per_row' | 'accessible',
) => `section.${key}.${field}`;

/** The element id of the input for a field key. */
export function inputId(field: string): string {
  return `new-event-${field.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

const kTopLabels: Record<string, string> = {
  name: 'Name',
  venue: 'Venue',
  onsale_at: 'On sale from',
  starts_at: 'Starts at',
  currency: 'Currency',
  tiers: 'Price tiers',
  sections: 'Sections',
  per_order: 'Tickets per order',
  per_customer: 'Tickets per customer',
  hold_ttl_s: 'Hold time',
  'queue.enabled': 'Waiting room',
  'queue.policy': 'Order in line',
  'queue.admission_rate_per_s': 'Admission rate',
  'queue.max_active': 'Max active',
  'queue.access_ttl_s': 'Time to shop',
  'defense.challenge': 'Bot challenge',
};

const kItemLabels: Record<string, string> = {
  id: 'ID',
  name: 'Name',
  price: 'Price',
  tier: 'Price tier',
  rows: 'Rows',
  seats_per_row: 'Seats per row',
  accessible: 'Accessible seats',
};

/** What the error summary calls a field: "Section 2, ID". */
export function fieldLabel(draft: EventDraft, field: string): string {
  const item = /^(tier|section)\.(\d+)\.(\w+)$/.exec(field);
  if (!item) return kTopLabels[field] ?? field;
  const list: { key: number }[] = item[1] === 'tier' ? draft.tiers : draft.sections;
  const place = list.findIndex((entry) => entry.key === Number(item[2])) + 1;
  return `${item[1] === 'tier' ? 'Price tier' : 'Section'} ${place}, ${kItemLabels[item[3]]}`;
}

/** The keys of the tiers and sections in the order a definition listed them. */
export interface Submitted {
  tiers: number[];
  sections: number[];
}

/**
 * The form field a server error's path blames, and the message to show there; field "" is the
 * form as a whole. Row paths name the row, since the form shows a section's rows as one field.
 */
export function fieldOfPath(
  path: string,
  message: string,
  submitted: Submitted,
): { field: string; message: string } {
  const tier = /^price_tiers\[(\d+)\](?:\.(\w+))?/.exec(path);
  if (tier) {
    const key = submitted.tiers[Number(tier[1])];
    if (key === undefined) return { field: 'tiers', message };
    const part = tier[2] === 'price_cents' ? 'price' : tier[2] === 'name' ? 'name' : 'id';
    return { field: tierField(key, part), message };
  }
  const section = /^sections\[(\d+)\](?:\.(\w+))?(?:\[(\d+)\](?:\.(\w+))?)?/.exec(path);
  if (section) {
    const key = submitted.sections[Number(section[1])];
    if (key === undefined) return { field: 'sections', message };
    const [, , part, row, row_part] = section;
    if (part === 'name' || part === 'tier') return { field: sectionField(key, part), message };
    if (part !== 'rows') return { field: sectionField(key, 'id'), message };
    if (row === undefined) return { field: sectionField(key, 'rows'), message };
    // Every row has the seats per row, so a problem with them is the same in each row.
    if (row_part === 'seats') return { field: sectionField(key, 'seats_per_row'), message };
    const in_row = `in row ${rowLabel(Number(row))}: ${message}`;
    if (row_part === 'accessible') {
      return { field: sectionField(key, 'accessible'), message: in_row };
    }
    return { field: sectionField(key, 'rows'), message: in_row };
  }
  if (path.startsWith('price_tiers')) return { field: 'tiers', message };
  if (path.startsWith('sections')) return { field: 'sections', message };
  if (path === 'limits.per_customer') return { field: 'per_customer', message };
  if (path.startsWith('limits')) return { field: 'per_order', message };
  if (path === 'queue') return { field: 'queue.enabled', message };
  if (path === 'defense') return { field: 'defense.challenge', message };
  return { field: path in kTopLabels ? path : '', message };
}

// ---- The definition ---------------------------------------------------------------------------

export type FieldErrors = Record<string, string[]>;

export interface Built {
  definition: Record<string, unknown>;
  submitted: Submitted;
  /** What the form could not even put into JSON (a price of "ten", "A1-x"); empty when none. */
  errors: FieldErrors;
}

function addError(errors: FieldErrors, field: string, message: string): void {
  (errors[field] ??= []).push(message);
}

/** A number field: left out when empty (the server's default applies), a problem when no number. */
function numberField(text: string, field: string, errors: FieldErrors): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  if (!Number.isFinite(value)) addError(errors, field, 'must be a number');
  return value;
}

function buildSection(
  section: SectionDraft,
  tiers: TierDraft[],
  errors: FieldErrors,
): Record<string, unknown> {
  const rows = wholeNumber(section.rows);
  if (section.rows.trim() !== '' && rows === null) {
    addError(errors, sectionField(section.key, 'rows'), 'must be a whole number');
  } else if (rows !== null && rows > kRowsPerSectionMax) {
    addError(errors, sectionField(section.key, 'rows'), `must be at most ${kRowsPerSectionMax}`);
  }
  const row_count = rows !== null && rows <= kRowsPerSectionMax ? rows : 0;
  const seats_field = sectionField(section.key, 'seats_per_row');
  const seats = numberField(section.seats_per_row, seats_field, errors);
  const accessible = parseAccessible(section.accessible);
  const labels = Array.from({ length: row_count }, (_, i) => rowLabel(i));
  if (!accessible.ok) {
    addError(errors, sectionField(section.key, 'accessible'), accessible.error);
  } else {
    for (const label of accessible.seats.keys()) {
      if (!labels.includes(label)) {
        const rows_are =
          labels.length === 0
            ? 'there are no rows'
            : labels.length === 1
              ? 'the only row is A'
              : `the rows are A to ${labels[labels.length - 1]}`;
        const field = sectionField(section.key, 'accessible');
        addError(errors, field, `names row ${label}, but ${rows_are}`);
      }
    }
  }
  const tier = tiers.find((entry) => String(entry.key) === section.tier_key);
  return {
    id: section.id.trim(),
    ...(section.name.trim() ? { name: section.name.trim() } : {}),
    tier: tier ? tier.id.trim() : '',
    rows: labels.map((label) => ({
      label,
      seats,
      ...(accessible.ok && accessible.seats.has(label)
        ? { accessible: accessible.seats.get(label) }
        : {}),
    })),
  };
}

/** The definition POST /v1/events takes, built from what the operator typed. */
export function buildDefinition(draft: EventDraft): Built {
  const errors: FieldErrors = {};
  const definition: Record<string, unknown> = { name: draft.name.trim() };
  if (draft.venue.trim()) definition.venue = draft.venue.trim();
  for (const field of ['onsale_at', 'starts_at'] as const) {
    if (draft[field] === '') continue;
    const utc = toUtc(draft[field]);
    if (utc === null) addError(errors, field, 'is not a date and time');
    else definition[field] = utc;
  }
  if (draft.currency.trim()) definition.currency = draft.currency.trim().toUpperCase();
  definition.price_tiers = draft.tiers.map((tier) => {
    const cents = tier.price.trim() === '' ? undefined : toCents(tier.price);
    if (cents === null) {
      addError(errors, tierField(tier.key, 'price'), 'must be an amount such as 25 or 19.99');
    } else if (cents !== undefined && cents > kPriceCentsMax) {
      const most = fromCents(kPriceCentsMax);
      addError(errors, tierField(tier.key, 'price'), `must be at most ${most}`);
    }
    return {
      id: tier.id.trim(),
      ...(tier.name.trim() ? { name: tier.name.trim() } : {}),
      ...(cents !== undefined && cents !== null ? { price_cents: cents } : {}),
    };
  });
  definition.sections = draft.sections.map((section) => buildSection(section, draft.tiers, errors));
  definition.limits = {
    per_order: numberField(draft.per_order, 'per_order', errors),
    per_customer: numberField(draft.per_customer, 'per_customer', errors),
  };
  const hold_ttl_s = numberField(draft.hold_ttl_s, 'hold_ttl_s', errors);
  if (hold_ttl_s !== undefined) definition.hold_ttl_s = hold_ttl_s;
  // Without a waiting room its settings mean nothing, and a stale one must not block the event.
  definition.queue = draft.queue_enabled
    ? {
        enabled: true,
        policy: draft.policy,
        admission_rate_per_s: numberField(
          draft.admission_rate_per_s,
          'queue.admission_rate_per_s',
          errors,
        ),
        max_active: numberField(draft.max_active, 'queue.max_active', errors),
        access_ttl_s: numberField(draft.access_ttl_s, 'queue.access_ttl_s', errors),
      }
    : { enabled: false };
  definition.defense = { challenge: draft.challenge };
  return {
    definition,
    submitted: {
      tiers: draft.tiers.map((tier) => tier.key),
      sections: draft.sections.map((section) => section.key),
    },
    errors,
  };
}

// ---- An uploaded definition -------------------------------------------------------------------

export interface DefinitionSummary {
  name: string | null;
  venue: string | null;
  tiers: number;
  sections: { id: string; name: string; seats: number; accessible: number }[];
  seats: number;
  accessible: number;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown) => (typeof value === 'string' ? value : null);
const list = (value: unknown) => (Array.isArray(value) ? (value as unknown[]) : []);

/** What a definition holds, counted here as the server would count it. */
export function summarize(definition: Record<string, unknown>): DefinitionSummary {
  const sections = list(definition.sections).map((value, i) => {
    const section = isObject(value) ? value : {};
    let seats = 0;
    let accessible = 0;
    for (const row of list(section.rows)) {
      if (!isObject(row)) continue;
      if (typeof row.seats === 'number' && Number.isFinite(row.seats)) seats += row.seats;
      accessible += new Set(list(row.accessible)).size;
    }
    const id = text(section.id) ?? `#${i + 1}`;
    return { id, name: text(section.name) ?? `Section ${id}`, seats, accessible };
  });
  return {
    name: text(definition.name),
    venue: text(definition.venue),
    tiers: list(definition.price_tiers).length,
    sections,
    seats: sections.reduce((sum, section) => sum + section.seats, 0),
    accessible: sections.reduce((sum, section) => sum + section.accessible, 0),
  };
}

const numberText = (value: unknown, fallback: string) =>
  typeof value === 'number' ? String(value) : fallback;

function sectionDraft(value: Section, tiers: TierDraft[]): SectionDraft | string {
  const rows = list(value.rows).filter(isObject) as unknown as Section['rows'];
  const seats = rows[0]?.seats;
  const accessible: string[] = [];
  for (const [i, row] of rows.entries()) {
    if (row.label !== rowLabel(i) || row.seats !== seats) {
      return `section ${value.id}: the form draws rows A, B, C… of one length, and these differ`;
    }
    const numbers = [...new Set(list(row.accessible).filter((n) => typeof n === 'number'))];
    accessible.push(...formatAccessible(row.label, (numbers as number[]).sort((a, b) => a - b)));
  }
  const tier = tiers.find((entry) => entry.id === value.tier);
  return {
    key: newKey(),
    id: text(value.id) ?? '',
    name: text(value.name) ?? '',
    tier_key: tier ? String(tier.key) : '',
    rows: String(rows.length),
    seats_per_row: numberText(seats, ''),
    accessible: accessible.join(', '),
  };
}

/** What the form has a field for, by object of the definition; anything else it would drop. */
const kFormFields: Record<string, readonly string[]> = {
  '': ['name', 'venue', 'onsale_at', 'starts_at', 'currency', 'price_tiers', 'sections', 'limits',
    'hold_ttl_s', 'queue', 'defense'],
  limits: ['per_order', 'per_customer'],
  queue: ['enabled', 'policy', 'admission_rate_per_s', 'max_active', 'access_ttl_s'],
  defense: ['challenge'],
};

/** The settings of `definition` the form would lose if it were loaded into it. */
function unmodelled(definition: Record<string, unknown>): string[] {
  const lost: string[] = [];
  for (const [object, fields] of Object.entries(kFormFields)) {
    const value = object === '' ? definition : definition[object];
    if (!isObject(value)) continue;
    for (const key of Object.keys(value)) {
      if (!fields.includes(key)) lost.push(object === '' ? key : `${object}.${key}`);
    }
  }
  for (const key of ['onsale_at', 'starts_at']) {
    // The form's times are to the minute.
    const time = text(definition[key]);
    if (time && new Date(time).getTime() % 60_000 !== 0) lost.push(`the seconds of ${key}`);
  }
  return lost;
}

/** The form filled in from a definition, or why the form cannot show it. */
export function draftOf(definition: Record<string, unknown>): EventDraft | string {
  const lost = unmodelled(definition);
  if (lost.length > 0) {
    return `it has settings the form has no field for (${lost.join(', ')})`;
  }
  const base = defaultDraft();
  const tiers = list(definition.price_tiers)
    .filter(isObject)
    .map((value) => {
      const tier = value as unknown as PriceTier;
      const cents = typeof tier.price_cents === 'number' ? fromCents(tier.price_cents) : '';
      return newTier(text(tier.id) ?? '', text(tier.name) ?? '', cents);
    });
  const sections: SectionDraft[] = [];
  for (const value of list(definition.sections).filter(isObject)) {
    const section = sectionDraft(value as unknown as Section, tiers);
    if (typeof section === 'string') return section;
    sections.push(section);
  }
  const limits = isObject(definition.limits) ? definition.limits : {};
  const queue = isObject(definition.queue) ? definition.queue : null;
  const defense = isObject(definition.defense) ? definition.defense : {};
  return {
    name: text(definition.name) ?? '',
    venue: text(definition.venue) ?? '',
    onsale_at: text(definition.onsale_at) ? toLocal(definition.onsale_at as string) : '',
    starts_at: text(definition.starts_at) ? toLocal(definition.starts_at as string) : '',
    currency: text(definition.currency) ?? base.currency,
    tiers,
    sections,
    per_order: numberText(limits.per_order, base.per_order),
    per_customer: numberText(limits.per_customer, base.per_customer),
    hold_ttl_s: numberText(definition.hold_ttl_s, base.hold_ttl_s),
    // As the server reads it: no queue object, no waiting room; one without `enabled`, one.
    queue_enabled: queue !== null && queue.enabled !== false,
    policy: queue?.policy === 'shuffle_prequeue' ? 'shuffle_prequeue' : 'fifo',
    admission_rate_per_s: numberText(queue?.admission_rate_per_s, base.admission_rate_per_s),
    max_active: numberText(queue?.max_active, base.max_active),
    access_ttl_s: numberText(queue?.access_ttl_s, base.access_ttl_s),
    challenge:
      defense.challenge === 'always' || defense.challenge === 'off' ? defense.challenge : 'risk',
  };
}
