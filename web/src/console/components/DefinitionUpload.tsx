// Create an event from a JSON file: the event definition (seat map and all) as POST /v1/events
// takes it, read here in the browser. The page says what the file holds, counted here, before the
// operator sends it as it is; a file that is no JSON says so and where. A file in the form's shape
// (rows A, B, C… of one length per section) may be loaded into the form instead, to edit first.

import { useState } from 'preact/hooks';
import { ApiError } from '../../api/client';
import { navigate } from '../../lib/router';
import { call, describe } from '../api';
import { draftOf, summarize, type DefinitionSummary, type EventDraft } from '../eventDraft';
import { consolePaths } from '../router';

// Far above the largest definition the server takes (200,000 seats write well under a megabyte
// of rows); reading a larger file would only cost the tab its memory.
const kFileBytesMax = 8 * 1024 * 1024;

type Read =
  | { kind: 'none' }
  | { kind: 'refused'; text: string }
  | { kind: 'read'; name: string; definition: Record<string, unknown>; summary: DefinitionSummary };

async function readDefinition(file: File): Promise<Read> {
  if (file.size > kFileBytesMax) {
    const size = file.size.toLocaleString('en');
    return { kind: 'refused', text: `${file.name} is ${size} bytes: too large for a definition.` };
  }
  let value: unknown;
  try {
    value = JSON.parse(await file.text());
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { kind: 'refused', text: `${file.name} is not valid JSON: ${reason}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const text = `${file.name} holds JSON, but no event definition (a JSON object).`;
    return { kind: 'refused', text };
  }
  const definition = value as Record<string, unknown>;
  return { kind: 'read', name: file.name, definition, summary: summarize(definition) };
}

/** The server's refusal as lines an operator can act on: each offending field with its problem. */
function refusalLines(error: unknown): string[] {
  if (!(error instanceof ApiError) || error.code !== 'validation_failed') return [describe(error)];
  const listed = Array.isArray(error.details.errors)
    ? (error.details.errors as { field?: unknown; message?: unknown }[])
    : [];
  if (listed.length === 0) return [error.message];
  return listed.map(
    (problem) => `${String(problem.field || 'The file')} ${String(problem.message)}`,
  );
}

function Summary(props: { summary: DefinitionSummary }) {
  const { summary } = props;
  return (
    <dl class="definition-summary">
      <dt>Name</dt>
      <dd>{summary.name ?? 'none (the server requires one)'}</dd>
      {summary.venue && (
        <>
          <dt>Venue</dt>
          <dd>{summary.venue}</dd>
        </>
      )}
      <dt>Price tiers</dt>
      <dd>{summary.tiers}</dd>
      <dt>Sections</dt>
      <dd>
        {summary.sections.length === 0 ? (
          'none'
        ) : (
          <ul>
            {summary.sections.map((section, i) => (
              <li key={i}>
                {section.name} ({section.id}): {section.seats.toLocaleString('en')} seats,{' '}
                {section.accessible} accessible
              </li>
            ))}
          </ul>
        )}
      </dd>
      <dt>Seats</dt>
      <dd>
        {summary.seats.toLocaleString('en')}, {summary.accessible} of them accessible
      </dd>
    </dl>
  );
}

export function DefinitionUpload(props: {
  onLoad: (draft: EventDraft, file_name: string) => void;
}) {
  const [read, setRead] = useState<Read>({ kind: 'none' });
  const [refusal, setRefusal] = useState<string[] | null>(null);
  const [unloadable, setUnloadable] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const choose = async (input: HTMLInputElement) => {
    setRefusal(null);
    setUnloadable(null);
    const file = input.files?.[0];
    setRead(file ? await readDefinition(file) : { kind: 'none' });
  };
  const create = async (event: Event) => {
    event.preventDefault();
    if (read.kind !== 'read') return;
    setBusy(true);
    setRefusal(null);
    try {
      const created = await call<{ id: string }>('/v1/events', {
        method: 'POST',
        body: read.definition,
      });
      navigate(consolePaths.event(created.id));
    } catch (error) {
      setRefusal(refusalLines(error));
      setBusy(false);
    }
  };
  const load = () => {
    if (read.kind !== 'read') return;
    const draft = draftOf(read.definition);
    if (typeof draft === 'string') {
      setUnloadable(`The form cannot show this file: ${draft}. Create the event from the file.`);
      return;
    }
    setUnloadable(null);
    props.onLoad(draft, read.name);
  };

  return (
    <form id="upload" class="card upload-form" aria-labelledby="upload-title" onSubmit={create}>
      <h2 id="upload-title">Upload an event definition</h2>
      <p>
        A JSON file in the shape POST /v1/events takes (docs/api.md), seat map and all. It is sent
        as it is.
      </p>
      <label for="definition-file">Event definition (JSON)</label>
      <input
        id="definition-file"
        type="file"
        accept=".json,application/json"
        aria-describedby={read.kind === 'refused' ? 'definition-file-error' : undefined}
        onChange={(change) => void choose(change.currentTarget)}
      />
      {read.kind === 'refused' && (
        <p id="definition-file-error" class="notice notice-error" role="alert">
          {read.text}
        </p>
      )}
      {read.kind === 'read' && (
        <section aria-labelledby="definition-summary-title">
          <h3 id="definition-summary-title">{read.name} holds</h3>
          <Summary summary={read.summary} />
        </section>
      )}
      {refusal && (
        <div class="notice notice-error" role="alert">
          <p>The server did not create the event:</p>
          <ul>
            {refusal.map((line, i) => (
              <li key={i}>{line}</li>
            ))}
          </ul>
        </div>
      )}
      <div class="button-row">
        <button type="submit" disabled={read.kind !== 'read' || busy}>
          Create event
        </button>
        <button type="button" disabled={read.kind !== 'read'} onClick={load}>
          Load into the form
        </button>
      </div>
      <p role="status" class={unloadable ? 'notice notice-error' : 'outcome'}>
        {unloadable ?? ''}
      </p>
    </form>
  );
}
