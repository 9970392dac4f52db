// One labelled field of the new-event form: the visible label, the input, a hint, and the
// problems the server (or the form) found with it, tied to the input by aria-describedby and
// aria-invalid so a screen reader reads them with the field.

import type { ComponentChildren, VNode } from 'preact';
import { inputId, type FieldErrors } from '../eventDraft';

export interface FieldAttributes {
  id: string;
  'aria-describedby'?: string;
  'aria-invalid'?: 'true';
}

/** The problems of `field`, each once (every row of a section may report the same one). */
export function problemsOf(errors: FieldErrors, field: string): string[] {
  return [...new Set(errors[field] ?? [])];
}

export function FormField(props: {
  field: string;
  label: string;
  hint?: ComponentChildren;
  errors: FieldErrors;
  class?: string;
  children: (attributes: FieldAttributes) => VNode;
}) {
  const id = inputId(props.field);
  const problems = problemsOf(props.errors, props.field);
  const described = [props.hint ? `${id}-hint` : '', problems.length ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class={`form-field ${props.class ?? ''}`}>
      <label for={id}>{props.label}</label>
      {problems.length > 0 && (
        <span id={`${id}-error`} class="field-error">
          {problems.map((problem) => `${props.label} ${problem}.`).join(' ')}
        </span>
      )}
      {props.children({
        id,
        ...(described ? { 'aria-describedby': described } : {}),
        ...(problems.length ? { 'aria-invalid': 'true' as const } : {}),
      })}
      {props.hint && (
        <span id={`${id}-hint`} class="hint">
          {props.hint}
        </span>
      )}
    </div>
  );
}

/** A text field bound to one string of the draft. */
export function TextInput(props: {
  field: string;
  label: string;
  hint?: ComponentChildren;
  errors: FieldErrors;
  value: string;
  onInput: (value: string) => void;
  class?: string;
  maxLength?: number;
  type?: 'text' | 'number' | 'datetime-local';
  min?: number;
  max?: number;
  required?: boolean;
}) {
  const { type = 'text' } = props;
  return (
    <FormField {...props}>
      {(attributes) => {
        const common = {
          ...attributes,
          value: props.value,
          required: props.required,
          autocomplete: 'off',
          onInput: (event: { currentTarget: HTMLInputElement }) =>
            props.onInput(event.currentTarget.value),
        };
        if (type === 'number') {
          return (
            <input
              {...common}
              type="number"
              min={props.min}
              max={props.max}
              step={1}
              inputMode="numeric"
            />
          );
        }
        if (type === 'datetime-local') return <input {...common} type="datetime-local" />;
        return <input {...common} type="text" maxLength={props.maxLength} spellcheck={false} />;
      }}
    </FormField>
  );
}

/** A select bound to one string of the draft. */
export function SelectInput(props: {
  field: string;
  label: string;
  hint?: ComponentChildren;
  errors: FieldErrors;
  value: string;
  options: { value: string; label: string }[];
  onChange: (value: string) => void;
  class?: string;
}) {
  return (
    <FormField {...props}>
      {(attributes) => (
        <select
          {...attributes}
          value={props.value}
          onChange={(event) => props.onChange(event.currentTarget.value)}
        >
          {props.options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      )}
    </FormField>
  );
}
