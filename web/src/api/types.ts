// The shapes of the boxoffice API answers this page reads (docs/api.md, docs/openapi.yaml). Only
// the fields the page uses are listed; the server may send more.

export interface PriceTier {
  id: string;
  name: string;
  price_cents: number;
}

export interface Row {
  label: string;
  seats: number;
  accessible: number[];
}

export interface Section {
  id: string;
  name: string;
  tier: string;
  rows: Row[];
}

export interface QueueSettings {
  enabled: boolean;
  policy: 'fifo' | 'shuffle_prequeue';
  paused: boolean;
}

export interface EventSummary {
  id: string;
  name: string;
  /** Where it takes place, as the operator wrote it; null when not given. */
  venue?: string | null;
  starts_at: string | null;
  onsale_at: string | null;
  currency: string;
  seat_count: number;
  limits: { per_order: number; per_customer: number };
  hold_ttl_s: number;
  queue: QueueSettings;
}

export interface EventDetail extends EventSummary {
  price_tiers: PriceTier[];
  sections: Section[];
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type SeatStatus = 'available' | 'held' | 'sold';

export interface Seat {
  id: string;
  section: string;
  row: string;
  number: number;
  tier: string;
  price_cents: number;
  accessible: boolean;
  status: SeatStatus;
  version: number;
}

export interface SeatList {
  event_id: string;
  seats: Seat[];
}

export interface Session {
  session_token: string;
  expires_at: string;
}

export type QueueState = 'prequeue' | 'waiting' | 'admitted' | 'sold_out' | 'closed';

export interface QueueStatus {
  queue_ticket: string;
  state: QueueState;
  position: number | null;
  eta_s: number | null;
  retry_after_s?: number;
  access_token?: string;
  access_expires_at?: string;
  seats_left?: number;
  seats_held?: number;
  /** Set while the operator has paused admissions; `eta_s` is null then. */
  paused?: boolean;
  /** The organiser's message to the line, while one is up (waiting and pre-queue). */
  message?: string;
}

export interface SeatRef {
  id: string;
  version: number;
}

export type HoldRequest =
  | { seats: SeatRef[] }
  | { best_available: { quantity: number; section?: string; accessible?: boolean } };

export interface Hold {
  hold_id: string;
  event_id: string;
  status: 'held' | 'released' | 'expired' | 'ordered';
  seats: (SeatRef & { price_cents: number })[];
  total_cents: number;
  currency: string;
  expires_at: string;
}

export interface Ticket {
  id: string;
  seat_id: string;
  price_cents: number;
  status: 'valid' | 'revoked';
  code?: string;
}

export interface Order {
  order_id: string;
  event_id: string;
  status: 'confirmed' | 'completed' | 'refunded';
  email: string;
  total_cents: number;
  currency: string;
  tickets: Ticket[];
}

export interface ClientConfig {
  test_cards: string[];
}

/** An ALTCHA challenge in its v1 format (`details.challenge` of a `challenge_required`). */
export interface AltchaChallengeV1 {
  algorithm: string;
  challenge: string;
  salt: string;
  signature: string;
  maxnumber: number;
}

/** The same work in ALTCHA's current (v2) format (`details.challenge_v2`; docs/defense.md). */
export interface AltchaChallengeV2 {
  parameters: {
    algorithm: string;
    cost: number;
    expiresAt: number;
    keyLength: number;
    keyPrefix: string;
    nonce: string;
    salt: string;
  };
  signature: string;
}

/** An ALTCHA challenge as `GET /v1/challenge` and `challenge_required` answers carry it. */
export type AltchaChallenge = AltchaChallengeV1 | AltchaChallengeV2;

/** The details of a 409 `seat_conflict`. */
export interface SeatConflictDetails {
  conflicts: string[];
  alternatives: SeatRef[];
}
