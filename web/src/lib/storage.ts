// What the page keeps across reloads, in localStorage: the fan's session, per event the queue
// place and the admission, and the language. A browser that refuses storage (some private
// modes) still works for one page life: values then live in memory only.

const memory = new Map<string, string>();

function read(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return memory.get(key) ?? null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    if (value === null) memory.delete(key);
    else memory.set(key, value);
  }
}

export function readJson<T>(key: string): T | null {
  const text = read(key);
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    write(key, null);
    return null;
  }
}

export function writeJson(key: string, value: unknown): void {
  write(key, value === null ? null : JSON.stringify(value));
}

export function readText(key: string): string | null {
  return read(key);
}

export function writeText(key: string, value: string | null): void {
  write(key, value);
}

/** A fan's place in an event's waiting room; `first_position` draws the progress bar. */
export interface QueuePlace {
  ticket: string;
  first_position: number | null;
}

/** The access token the waiting room handed out, needed for holds and orders. */
export interface Admission {
  access_token: string;
  expires_at: string;
}

const place_key = (event_id: string) => `boxoffice.queue.${event_id}`;
const admission_key = (event_id: string) => `boxoffice.admission.${event_id}`;
const hold_key = (event_id: string) => `boxoffice.hold.${event_id}`;

export const queuePlace = {
  get: (event_id: string) => readJson<QueuePlace>(place_key(event_id)),
  set: (event_id: string, place: QueuePlace) => writeJson(place_key(event_id), place),
  clear: (event_id: string) => writeJson(place_key(event_id), null),
};

export const admission = {
  /** The event's admission while it lasts, else null. */
  get(event_id: string): Admission | null {
    const stored = readJson<Admission>(admission_key(event_id));
    if (stored && Date.parse(stored.expires_at) > Date.now()) return stored;
    if (stored) writeJson(admission_key(event_id), null);
    return null;
  },
  set: (event_id: string, value: Admission) => writeJson(admission_key(event_id), value),
  clear: (event_id: string) => writeJson(admission_key(event_id), null),
};

export const heldSeats = {
  get: (event_id: string) => readText(hold_key(event_id)),
  set: (event_id: string, hold_id: string) => writeText(hold_key(event_id), hold_id),
  clear: (event_id: string) => writeText(hold_key(event_id), null),
};

/** Forgets every per-event value: they all belong to the session that is being replaced. */
export function clearEventState(): void {
  try {
    const keys: string[] = [];
    for (let i = 0; i < window.localStorage.length; ++i) {
      const key = window.localStorage.key(i);
      if (key && /^boxoffice\.(queue|admission|hold)\./.test(key)) keys.push(key);
    }
    for (const key of keys) window.localStorage.removeItem(key);
  } catch {
    for (const key of [...memory.keys()]) {
      if (/^boxoffice\.(queue|admission|hold)\./.test(key)) memory.delete(key);
    }
  }
}
