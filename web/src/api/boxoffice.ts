// The boxoffice routes this page calls, one typed function each (docs/api.md).

import { ApiError, exchange, request, toError } from './client';
import { telemetrySnapshot } from '../lib/telemetry';
import type {
  ClientConfig,
  EventDetail,
  EventSummary,
  Hold,
  HoldRequest,
  Order,
  Page,
  QueueStatus,
  Seat,
  SeatList,
} from './types';

/** Pages of the event list read at most; a fan's list is short, this bounds a long one. */
const kEventPagesMax = 5;

const event_path = (event_id: string) => `/v1/events/${encodeURIComponent(event_id)}`;

export async function listEvents(signal?: AbortSignal): Promise<EventSummary[]> {
  const events: EventSummary[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < kEventPagesMax; ++page) {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const answer: Page<EventSummary> = await request(`/v1/events?limit=200${query}`, { signal });
    events.push(...answer.items);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return events;
}

export function getEvent(event_id: string, signal?: AbortSignal): Promise<EventDetail> {
  return request(event_path(event_id), { signal });
}

/** A section's seats, or `null` when they have not changed since the answer tagged `etag`. */
export async function sectionSeats(
  event_id: string,
  section_id: string,
  etag: string | null,
  signal?: AbortSignal,
): Promise<{ seats: Seat[]; etag: string | null } | null> {
  const { response, body } = await exchange(
    `${event_path(event_id)}/seats?section=${encodeURIComponent(section_id)}`,
    { signal, headers: etag ? { 'If-None-Match': etag } : {} },
  );
  if (response.status === 304) return null;
  if (!response.ok) throw toError(response, body);
  return { seats: (body as SeatList).seats, etag: response.headers.get('ETag') };
}

/**
 * Whether any seat of the event is on sale. The event answers carry no count of available seats,
 * so this asks section by section for available seats only and stops at the first section that
 * has one: while seats are left that is usually the first request, and once they are gone every
 * answer is an empty list.
 */
export async function hasSeatsLeft(event: EventDetail, signal?: AbortSignal): Promise<boolean> {
  for (const section of event.sections) {
    const list: SeatList = await request(
      `${event_path(event.id)}/seats?section=${encodeURIComponent(section.id)}&status=available`,
      { signal },
    );
    if (list.seats.length > 0) return true;
  }
  return false;
}

export function postTelemetry(signal?: AbortSignal): Promise<void> {
  return request('/v1/telemetry', {
    method: 'POST',
    body: telemetrySnapshot(),
    session: true,
    signal,
  });
}

export function joinQueue(event_id: string, signal?: AbortSignal): Promise<QueueStatus> {
  return request(`${event_path(event_id)}/queue`, {
    method: 'POST',
    session: true,
    challengeable: true,
    signal,
  });
}

export function queueStatus(
  event_id: string,
  ticket: string,
  signal?: AbortSignal,
): Promise<QueueStatus> {
  return request(`${event_path(event_id)}/queue/status`, {
    session: true,
    headers: { 'X-Queue-Ticket': ticket },
    signal,
  });
}

/**
 * Follows `queue/stream` and calls `on_status` with each event. EventSource cannot send the
 * session and ticket headers the route needs, so this reads the stream with fetch. Resolves when
 * the server ends the stream; rejects with ApiError when it refuses to start one (503 when its
 * stream cap is reached), so that the caller falls back to polling.
 */
export async function followQueue(
  event_id: string,
  ticket: string,
  on_status: (status: QueueStatus) => void,
  signal: AbortSignal,
): Promise<void> {
  const { response, body } = await exchange(`${event_path(event_id)}/queue/stream`, {
    session: true,
    headers: { 'X-Queue-Ticket': ticket, Accept: 'text/event-stream' },
    // Polling is the fallback, so a refused stream is not worth waiting for.
    waitWhenBusy: false,
    signal,
  });
  if (!response.ok) throw toError(response, body);
  if (!response.body) throw new ApiError(0, 'network_error', 'The stream has no body.');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      // Lines starting with ':' are the keep-alive comments; only `data:` lines carry a status.
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data) on_status(JSON.parse(data) as QueueStatus);
    }
  }
}

function accessHeaders(access_token: string | null): Record<string, string> {
  return access_token ? { 'X-Access-Token': access_token } : {};
}

export function createHold(
  event_id: string,
  hold: HoldRequest,
  access_token: string | null,
  signal?: AbortSignal,
): Promise<Hold> {
  return request(`${event_path(event_id)}/holds`, {
    method: 'POST',
    body: hold,
    headers: accessHeaders(access_token),
    session: true,
    challengeable: true,
    signal,
  });
}

export function getHold(hold_id: string, signal?: AbortSignal): Promise<Hold> {
  return request(`/v1/holds/${encodeURIComponent(hold_id)}`, { session: true, signal });
}

export function releaseHold(hold_id: string): Promise<void> {
  return request(`/v1/holds/${encodeURIComponent(hold_id)}`, { method: 'DELETE', session: true });
}

/**
 * The client settings the server publishes, or `null` from a server without the route (404).
 */
export async function getClientConfig(signal?: AbortSignal): Promise<ClientConfig | null> {
  try {
    return await request<ClientConfig>('/v1/config', { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export interface OrderRequest {
  hold_id: string;
  email: string;
  payment: { token: string };
}

export function placeOrder(
  order: OrderRequest,
  idempotency_key: string,
  access_token: string | null,
): Promise<Order> {
  return request('/v1/orders', {
    method: 'POST',
    body: order,
    headers: { 'Idempotency-Key': idempotency_key, ...accessHeaders(access_token) },
    session: true,
  });
}

export function getOrder(order_id: string, signal?: AbortSignal): Promise<Order> {
  return request(`/v1/orders/${encodeURIComponent(order_id)}`, { session: true, signal });
}

/** The ticket's QR code as an SVG blob; the route needs the buyer's session, so no plain <img>. */
export async function ticketQr(ticket_id: string, signal?: AbortSignal): Promise<Blob> {
  const { response, body } = await exchange(`/v1/tickets/${encodeURIComponent(ticket_id)}/qr.svg`, {
    session: true,
    signal,
    headers: { Accept: 'image/svg+xml' },
  });
  if (!response.ok) throw toError(response, body);
  const svg = await response.blob();
  // The blob keeps the server's type; an <img> shows SVG only with it, so make sure it is there.
  return svg.type === 'image/svg+xml' ? svg : new Blob([svg], { type: 'image/svg+xml' });
}
