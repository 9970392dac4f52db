// Create an event, two ways: fill in the form, or upload the definition as a JSON file (which may
// also fill the form in). Either way a created event opens on its dashboard.

import { useEffect, useRef, useState } from 'preact/hooks';
import { DefinitionUpload } from '../components/DefinitionUpload';
import { EventForm } from '../components/EventForm';
import { defaultDraft, type EventDraft } from '../eventDraft';
import { consolePaths } from '../router';
import '../event-form.css';

export function NewEventPage() {
  const [draft, setDraft] = useState<EventDraft>(defaultDraft);
  // A draft loaded from a file starts the form afresh: the old draft's problems are not its own.
  const [loaded, setLoaded] = useState<{ file_name: string; version: number } | null>(null);
  const notice = useRef<HTMLParagraphElement>(null);
  useEffect(() => notice.current?.focus(), [loaded]);

  return (
    <>
      <p class="breadcrumb">
        <a href={consolePaths.events()}>Events</a>
      </p>
      <h1 tabIndex={-1}>Create an event</h1>
      <p>
        Fill in the form, or <a href="#upload">upload an event definition (JSON)</a>. Every field
        but the name starts with a value that works; the event opens on its dashboard once created.
      </p>
      {loaded && (
        <p ref={notice} class="notice" role="status" tabIndex={-1}>
          Loaded from {loaded.file_name}: check the form, then press Create event.
        </p>
      )}
      <EventForm key={loaded?.version ?? 0} draft={draft} onDraft={setDraft} />
      <DefinitionUpload
        onLoad={(next, file_name) => {
          setDraft(next);
          setLoaded((old) => ({ file_name, version: (old?.version ?? 0) + 1 }));
        }}
      />
    </>
  );
}
