// The console's URL shapes, which `boxoffice serve` answers with console.html: `/console` (sign
// in, then the events), `/console/events/{id}` (one event's dashboard) and `/scan` (the door
// scanner). Moves between them use the fan page's History API helpers.

export type ConsoleRoute =
  | { page: 'events' }
  | { page: 'event'; event_id: string }
  | { page: 'scan' }
  | { page: 'not_found' };

export function matchConsoleRoute(pathname: string): ConsoleRoute {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 1 && parts[0] === 'console') return { page: 'events' };
  if (parts.length === 3 && parts[0] === 'console' && parts[1] === 'events') {
    return { page: 'event', event_id: parts[2] };
  }
  if (parts.length === 1 && parts[0] === 'scan') return { page: 'scan' };
  return { page: 'not_found' };
}

export const consolePaths = {
  events: () => '/console',
  event: (event_id: string) => `/console/events/${encodeURIComponent(event_id)}`,
  scan: (event_id?: string) =>
    event_id === undefined ? '/scan' : `/scan?event=${encodeURIComponent(event_id)}`,
};
