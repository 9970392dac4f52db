// Behaviour counts the waiting room asks for before a fan joins (docs/defense.md, "Risk score"):
// how many pointer and key events this page saw and when the first came. Only counts leave the
// page, never what was typed or where the pointer went.

let pointer_events = 0;
let key_events = 0;
let first_interaction_ms: number | null = null;

function noteInteraction(): void {
  // performance.now() counts from the document's start, which is what the server means: a
  // script acting on a page it has just loaded moves within a few milliseconds, a person does not.
  if (first_interaction_ms === null) first_interaction_ms = Math.round(performance.now());
}

export function startTelemetry(): void {
  const options = { capture: true, passive: true } as const;
  for (const type of ['pointerdown', 'pointermove'] as const) {
    window.addEventListener(
      type,
      () => {
        ++pointer_events;
        noteInteraction();
      },
      options,
    );
  }
  window.addEventListener(
    'keydown',
    () => {
      ++key_events;
      noteInteraction();
    },
    options,
  );
}

export interface TelemetryBody {
  pointer_events: number;
  key_events: number;
  first_interaction_ms: number | null;
}

export function telemetrySnapshot(): TelemetryBody {
  return { pointer_events, key_events, first_interaction_ms };
}
