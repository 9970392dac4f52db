// The console's URL shapes, which `boxoffice serve` answers with console.html: `/console` (sign
// in, then the events), `/console/events/new` (create an event), `/console/events/{id}` (one
// event's dashboard), `/console/defense` (the bot defence's lists and decision log) and `/scan`
// (the door scanner). Moves between them use the fan page's
// History API helpers. The server answers `new` as one more `{id}`; no event has that id, since
// the server names them `evt_…`.

export type ConsoleRoute =
  | { page: 'events' }
  | { page: 'new_event' }
  | { page: 'event'; event_id: string }
  | { page: 'defense' }
  | { page: 'scan' }
  | { page: 'not_found' };

export function matchConsoleRoute(pathname: string): ConsoleRoute {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 1 && parts[0] === 'console') return { page: 'events' };
  if (parts.length === 3 && parts[0] === 'console' && parts[1] === 'events') {
    if (parts[2] === 'new') return { page: 'new_event' };
    return { page: 'event', event_id: parts[2] };
  }
  if (parts.length === 2 && parts[0] === 'console' && parts[1] === 'defense') {
    return { page: 'defense' };
  }
  if (parts.length === 1 && parts[0] === 'scan') return { page: 'scan' };
  return { page: 'not_found' };
}

export const consolePaths = {
  events: () => '/console',
  newEvent: () => '/console/events/new',
  event: (event_id: string) => `/console/events/${encodeURIComponent(event_id)}`,
  defense: () => '/console/defense',
  scan: (event_id?: string) =>
    event_id === undefined ? '/scan' : `/scan?event=${encodeURIComponent(event_id)}`,
};
