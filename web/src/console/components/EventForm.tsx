// The new-event form: the event, its price tiers and sections (added and removed at will), limits,
// waiting room and bot defence. A submit posts the definition; when the server refuses it, each
// problem shows at the field it names and, all together, in an alert at the top that links to
// them. What was typed stays as it was, to be corrected and sent again.

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../../api/client';
import { navigate } from '../../lib/router';
import { call, describe } from '../api';
import {
  buildDefinition,
  fieldLabel,
  fieldOfPath,
  inputId,
  newSection,
  newTier,
  rowLabel,
  sectionField,
  sectionSeats,
  tierField,
  toUtc,
  type EventDraft,
  type FieldErrors,
  type SectionDraft,
  type Submitted,
  type TierDraft,
} from '../eventDraft';
import { consolePaths } from '../router';
import { problemsOf, SelectInput, TextInput } from './FormField';

export type DraftUpdate = (update: (old: EventDraft) => EventDraft) => void;

interface Refusal {
  /** What went wrong as a whole: the server's refusal in plain words, or a count of problems. */
  message: string;
  fields: FieldErrors;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The problems a refused POST /v1/events names, placed at the fields of the draft it came from. */
export function refusalOf(error: unknown, submitted: Submitted): Refusal {
  if (!(error instanceof ApiError) || error.code !== 'validation_failed') {
    return { message: describe(error), fields: {} };
  }
  const listed = Array.isArray(error.details.errors)
    ? (error.details.errors as { field?: unknown; message?: unknown }[])
    : [{ field: error.details.field, message: error.message }];
  const fields: FieldErrors = {};
  for (const problem of listed) {
    const path = typeof problem.field === 'string' ? problem.field : '';
    const placed = fieldOfPath(path, String(problem.message ?? error.message), submitted);
    (fields[placed.field] ??= []).push(placed.message);
  }
  const count = plural(listed.length, 'problem', 'problems');
  return { message: `The server did not create the event: ${count} to fix.`, fields };
}

function ErrorSummary(props: { refusal: Refusal; draft: EventDraft }) {
  const summary = useRef<HTMLDivElement>(null);
  // Moving focus here tells a keyboard or screen-reader user at once why nothing happened.
  useEffect(() => summary.current?.focus(), [props.refusal]);
  const entries = Object.keys(props.refusal.fields).flatMap((field) =>
    problemsOf(props.refusal.fields, field).map((message) => ({ field, message })),
  );
  return (
    <div ref={summary} class="notice notice-error error-summary" role="alert" tabIndex={-1}>
      <p>{props.refusal.message}</p>
      {entries.length > 0 && (
        <ul>
          {entries.map(({ field, message }) =>
            field === '' ? (
              <li key={`-${message}`}>{message}</li>
            ) : (
              <li key={`${field}-${message}`}>
                <a
                  href={`#${inputId(field)}`}
                  onClick={(click) => {
                    click.preventDefault();
                    document.getElementById(inputId(field))?.focus();
                  }}
                >
                  {fieldLabel(props.draft, field)} {message}
                </a>
              </li>
            ),
          )}
        </ul>
      )}
    </div>
  );
}

function GroupProblems(props: { errors: FieldErrors; field: string; label: string }) {
  const problems = problemsOf(props.errors, props.field);
  if (problems.length === 0) return null;
  return (
    <p class="field-error">{problems.map((problem) => `${props.label} ${problem}.`).join(' ')}</p>
  );
}

function timeHint(local: string, empty: string): string {
  if (local === '') return empty;
  const utc = toUtc(local);
  return utc ? `Your local time; sent as ${utc}.` : 'Your local time.';
}

function TierFields(props: {
  tier: TierDraft;
  place: number;
  currency: string;
  errors: FieldErrors;
  onTier: (tier: TierDraft) => void;
  onRemove: (() => void) | null;
}) {
  const { tier } = props;
  return (
    <fieldset class="repeat-item">
      <legend>Price tier {props.place}</legend>
      <div class="form-row">
        <TextInput
          field={tierField(tier.key, 'id')}
          label="ID"
          hint="Letters, digits and _, e.g. A."
          maxLength={16}
          errors={props.errors}
          value={tier.id}
          onInput={(id) => props.onTier({ ...tier, id })}
        />
        <TextInput
          field={tierField(tier.key, 'name')}
          label="Name"
          hint="What fans see, e.g. Floor."
          maxLength={200}
          class="wide"
          errors={props.errors}
          value={tier.name}
          onInput={(name) => props.onTier({ ...tier, name })}
        />
        <TextInput
          field={tierField(tier.key, 'price')}
          label={`Price (${props.currency || 'USD'})`}
          hint="Per seat, e.g. 25 or 19.99."
          errors={props.errors}
          value={tier.price}
          onInput={(price) => props.onTier({ ...tier, price })}
        />
      </div>
      {props.onRemove && (
        <button type="button" class="button-quiet-outline" onClick={props.onRemove}>
          Remove price tier {props.place}
        </button>
      )}
    </fieldset>
  );
}

function seatsText(section: SectionDraft): string {
  const counted = sectionSeats(section);
  if (counted === null || counted.seats === 0) return 'Rows and seats per row give the seat count.';
  const rows = Number(section.rows);
  const labels = rows === 1 ? 'row A' : `rows A to ${rowLabel(rows - 1)}`;
  const seats = counted.seats.toLocaleString('en');
  return `${seats} seats in ${labels}, ${counted.accessible} accessible.`;
}

function SectionFields(props: {
  section: SectionDraft;
  place: number;
  tiers: TierDraft[];
  errors: FieldErrors;
  onSection: (section: SectionDraft) => void;
  onRemove: (() => void) | null;
}) {
  const { section } = props;
  const set = (change: Partial<SectionDraft>) => props.onSection({ ...section, ...change });
  return (
    <fieldset class="repeat-item">
      <legend>Section {props.place}</legend>
      <div class="form-row">
        <TextInput
          field={sectionField(section.key, 'id')}
          label="ID"
          hint="Letters, digits and _; seat ids read 101-A-7."
          maxLength={16}
          errors={props.errors}
          value={section.id}
          onInput={(id) => set({ id })}
        />
        <TextInput
          field={sectionField(section.key, 'name')}
          label="Name"
          hint="E.g. Section 101."
          maxLength={200}
          class="wide"
          errors={props.errors}
          value={section.name}
          onInput={(name) => set({ name })}
        />
        <SelectInput
          field={sectionField(section.key, 'tier')}
          label="Price tier"
          errors={props.errors}
          value={section.tier_key}
          options={[
            { value: '', label: 'Choose a tier' },
            ...props.tiers.map((tier, i) => ({
              value: String(tier.key),
              label: tier.id ? `${tier.id}${tier.name ? ` (${tier.name})` : ''}` : `Tier ${i + 1}`,
            })),
          ]}
          onChange={(tier_key) => set({ tier_key })}
        />
      </div>
      <div class="form-row">
        <TextInput
          type="number"
          field={sectionField(section.key, 'rows')}
          label="Rows"
          hint="Labelled A, B, C… from the front."
          min={1}
          max={500}
          errors={props.errors}
          value={section.rows}
          onInput={(rows) => set({ rows })}
        />
        <TextInput
          type="number"
          field={sectionField(section.key, 'seats_per_row')}
          label="Seats per row"
          hint="Numbered from 1."
          min={1}
          max={2000}
          errors={props.errors}
          value={section.seats_per_row}
          onInput={(seats_per_row) => set({ seats_per_row })}
        />
        <TextInput
          field={sectionField(section.key, 'accessible')}
          label="Accessible seats"
          hint={
            'Row and seats, e.g. A1-4, C10 (seats 1 to 4 of row A and seat 10 of row C). ' +
            'Empty: none.'
          }
          class="wide"
          errors={props.errors}
          value={section.accessible}
          onInput={(accessible) => set({ accessible })}
        />
      </div>
      <p class="hint">{seatsText(section)}</p>
      {props.onRemove && (
        <button type="button" class="button-quiet-outline" onClick={props.onRemove}>
          Remove section {props.place}
        </button>
      )}
    </fieldset>
  );
}

function totalText(sections: SectionDraft[]): string {
  let seats = 0;
  let accessible = 0;
  for (const section of sections) {
    const counted = sectionSeats(section);
    if (counted === null) return '';
    seats += counted.seats;
    accessible += counted.accessible;
  }
  return `In all: ${seats.toLocaleString('en')} seats, ${accessible} of them accessible.`;
}

export function EventForm(props: { draft: EventDraft; onDraft: DraftUpdate }) {
  const { draft, onDraft } = props;
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [busy, setBusy] = useState(false);
  const errors = refusal?.fields ?? {};
  const set =
    <K extends keyof EventDraft>(key: K) =>
    (value: EventDraft[K]) =>
      onDraft((old) => ({ ...old, [key]: value }));
  const text = (key: keyof EventDraft) => ({
    field: key,
    errors,
    value: draft[key] as string,
    onInput: set(key) as (value: string) => void,
  });
  const setTier = (tier: TierDraft) =>
    onDraft((old) => ({ ...old, tiers: old.tiers.map((t) => (t.key === tier.key ? tier : t)) }));
  const setSection = (section: SectionDraft) =>
    onDraft((old) => ({
      ...old,
      sections: old.sections.map((s) => (s.key === section.key ? section : s)),
    }));

  const submit = async (event: Event) => {
    event.preventDefault();
    const built = buildDefinition(draft);
    const problems = Object.values(built.errors).flat().length;
    if (problems > 0) {
      setRefusal({
        message: `The event was not sent: ${plural(problems, 'problem', 'problems')} to fix.`,
        fields: built.errors,
      });
      return;
    }
    setBusy(true);
    try {
      const created = await call<{ id: string }>('/v1/events', {
        method: 'POST',
        body: built.definition,
      });
      navigate(consolePaths.event(created.id));
    } catch (error) {
      setRefusal(refusalOf(error, built.submitted));
      setBusy(false);
    }
  };

  return (
    <form class="event-form" aria-labelledby="event-form-title" onSubmit={submit} noValidate>
      <h2 id="event-form-title">Fill in the event</h2>
      {refusal && <ErrorSummary refusal={refusal} draft={draft} />}
      <fieldset class="card">
        <legend>The event</legend>
        <TextInput {...text('name')} label="Name" maxLength={200} class="wide" required />
        <TextInput
          {...text('venue')}
          label="Venue"
          hint="E.g. Olympia, Paris."
          maxLength={200}
          class="wide"
        />
        <div class="form-row">
          <TextInput
            {...text('starts_at')}
            type="datetime-local"
            label="Starts at"
            hint={timeHint(draft.starts_at, 'Your local time. Empty: not announced yet.')}
          />
          <TextInput
            {...text('onsale_at')}
            type="datetime-local"
            label="On sale from"
            hint={timeHint(draft.onsale_at, 'Your local time. Empty: on sale once created.')}
          />
          <TextInput
            {...text('currency')}
            label="Currency"
            hint="ISO 4217 code: USD, EUR, GBP…"
            maxLength={3}
          />
        </div>
      </fieldset>

      <fieldset class="card" id={inputId('tiers')} tabIndex={-1}>
        <legend>Price tiers</legend>
        <GroupProblems errors={errors} field="tiers" label="Price tiers" />
        {draft.tiers.map((tier, i) => (
          <TierFields
            key={tier.key}
            tier={tier}
            place={i + 1}
            currency={draft.currency.trim().toUpperCase()}
            errors={errors}
            onTier={setTier}
            onRemove={
              draft.tiers.length > 1
                ? () =>
                    onDraft((old) => ({
                      ...old,
                      tiers: old.tiers.filter((t) => t.key !== tier.key),
                    }))
                : null
            }
          />
        ))}
        <button
          type="button"
          onClick={() => onDraft((old) => ({ ...old, tiers: [...old.tiers, newTier()] }))}
        >
          Add a price tier
        </button>
      </fieldset>

      <fieldset class="card" id={inputId('sections')} tabIndex={-1}>
        <legend>Sections</legend>
        <GroupProblems errors={errors} field="sections" label="Sections" />
        {draft.sections.map((section, i) => (
          <SectionFields
            key={section.key}
            section={section}
            place={i + 1}
            tiers={draft.tiers}
            errors={errors}
            onSection={setSection}
            onRemove={
              draft.sections.length > 1
                ? () =>
                    onDraft((old) => ({
                      ...old,
                      sections: old.sections.filter((s) => s.key !== section.key),
                    }))
                : null
            }
          />
        ))}
        <p>{totalText(draft.sections)}</p>
        <button
          type="button"
          onClick={() =>
            onDraft((old) => ({
              ...old,
              sections: [...old.sections, newSection(String(old.tiers[0]?.key ?? ''))],
            }))
          }
        >
          Add a section
        </button>
      </fieldset>

      <fieldset class="card">
        <legend>Limits and holds</legend>
        <div class="form-row">
          <TextInput
            {...text('per_order')}
            type="number"
            label="Tickets per order"
            hint="1 to 8."
            min={1}
            max={8}
          />
          <TextInput
            {...text('per_customer')}
            type="number"
            label="Tickets per customer"
            hint="1 to 100, at least per order."
            min={1}
            max={100}
          />
          <TextInput
            {...text('hold_ttl_s')}
            type="number"
            label="Hold time (seconds)"
            hint="How long picked seats stay a fan's while they pay: 30 to 3600."
            min={30}
            max={3600}
          />
        </div>
      </fieldset>

      <fieldset class="card">
        <legend>Waiting room</legend>
        <label class="check">
          <input
            id={inputId('queue.enabled')}
            type="checkbox"
            checked={draft.queue_enabled}
            onChange={(event) => set('queue_enabled')(event.currentTarget.checked)}
          />
          Use a waiting room
        </label>
        <GroupProblems errors={errors} field="queue.enabled" label="Waiting room" />
        {draft.queue_enabled ? (
          <div class="form-row">
            <SelectInput
              field="queue.policy"
              label="Order in line"
              class="wide"
              errors={errors}
              value={draft.policy}
              options={[
                { value: 'fifo', label: 'First come, first served' },
                { value: 'shuffle_prequeue', label: 'Shuffle those who come before the sale' },
              ]}
              onChange={(policy) => set('policy')(policy as EventDraft['policy'])}
            />
            <TextInput
              {...text('admission_rate_per_s')}
              field="queue.admission_rate_per_s"
              type="number"
              label="Admission rate"
              hint="Fans let in a second."
              min={1}
              max={1_000_000}
            />
            <TextInput
              {...text('max_active')}
              field="queue.max_active"
              type="number"
              label="Max active"
              hint="Fans shopping at once."
              min={1}
              max={10_000_000}
            />
            <TextInput
              {...text('access_ttl_s')}
              field="queue.access_ttl_s"
              type="number"
              label="Time to shop (seconds)"
              hint="How long a fan let in may shop: 60 to 7200."
              min={60}
              max={7200}
            />
          </div>
        ) : (
          <p class="hint">Without one, every fan shops at once.</p>
        )}
      </fieldset>

      <fieldset class="card">
        <legend>Bot defence</legend>
        <SelectInput
          field="defense.challenge"
          label="Bot challenge"
          hint="A proof of work the fan's browser solves by itself before joining or holding seats."
          errors={errors}
          value={draft.challenge}
          options={[
            { value: 'risk', label: 'When the risk score asks for one (recommended)' },
            { value: 'always', label: 'Always' },
            { value: 'off', label: 'Off' },
          ]}
          onChange={(challenge) => set('challenge')(challenge as EventDraft['challenge'])}
        />
      </fieldset>

      <p>
        <button type="submit" disabled={busy}>
          Create event
        </button>
      </p>
    </form>
  );
}
