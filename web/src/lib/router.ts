// A History API router over exactly the URL shapes `boxoffice serve` answers with index.html:
// `/`, `/events/{id}`, `/events/{id}/{page}` and `/orders/{id}`. Anything else is not found.

import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'events' }
  | { page: 'event'; event_id: string }
  | { page: 'queue'; event_id: string }
  | { page: 'seats'; event_id: string }
  | { page: 'checkout'; event_id: string }
  | { page: 'order'; order_id: string }
  | { page: 'not_found' };

const event_pages = ['queue', 'seats', 'checkout'] as const;

export function matchRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'events' };
  if (parts[0] === 'events' && parts.length === 2) return { page: 'event', event_id: parts[1] };
  if (parts[0] === 'events' && parts.length === 3) {
    const page = event_pages.find((name) => name === parts[2]);
    if (page) return { page, event_id: parts[1] };
  }
  if (parts[0] === 'orders' && parts.length === 2) return { page: 'order', order_id: parts[1] };
  return { page: 'not_found' };
}

export const paths = {
  events: () => '/',
  event: (event_id: string) => `/events/${encodeURIComponent(event_id)}`,
  queue: (event_id: string) => `/events/${encodeURIComponent(event_id)}/queue`,
  seats: (event_id: string) => `/events/${encodeURIComponent(event_id)}/seats`,
  checkout: (event_id: string, hold_id: string) =>
    `/events/${encodeURIComponent(event_id)}/checkout?hold=${encodeURIComponent(hold_id)}`,
  order: (order_id: string) => `/orders/${encodeURIComponent(order_id)}`,
};

const kNavigateEvent = 'boxoffice:navigate';

/** Moves to `url` without a page load; `replace` for moves the fan did not ask for. */
export function navigate(url: string, options: { replace?: boolean } = {}): void {
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(kNavigateEvent));
}

export interface Location {
  pathname: string;
  search: URLSearchParams;
}

function currentLocation(): Location {
  return {
    pathname: window.location.pathname,
    search: new URLSearchParams(window.location.search),
  };
}

export function useLocation(): Location {
  const [location, setLocation] = useState(currentLocation);
  useEffect(() => {
    const update = () => setLocation(currentLocation());
    window.addEventListener('popstate', update);
    window.addEventListener(kNavigateEvent, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(kNavigateEvent, update);
    };
  }, []);
  return location;
}

/**
 * Turns clicks on same-origin links into History API moves. One listener on the document serves
 * every <a>, so links stay plain anchors (they open in a new tab, copy and read as links). Links
 * to paths `isPage` does not own (the fan page's by default) load as usual.
 */
export function interceptLinks(
  isPage: (pathname: string) => boolean = (pathname) => matchRoute(pathname).page !== 'not_found',
): void {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href, window.location.href);
    const same_page =
      url.pathname === window.location.pathname && url.search === window.location.search;
    // A jump within the page (the skip link) is the browser's to do.
    if (same_page && url.hash) return;
    if (url.origin !== window.location.origin || !isPage(url.pathname)) {
      return;
    }
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}
