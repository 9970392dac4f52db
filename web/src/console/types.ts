// The shapes of the operator routes the console reads (docs/api.md).

export interface QueueSettings {
  enabled: boolean;
  policy: string;
  admission_rate_per_s: number;
  max_active: number;
  access_ttl_s: number;
  paused: boolean;
  message?: string | null;
  /** Closed by the operator to new fans; those in line keep their places. */
  closed?: boolean;
}

export interface EventListItem {
  id: string;
  name: string;
  starts_at?: string | null;
  onsale_at?: string | null;
  currency: string;
  seat_count?: number;
  queue?: QueueSettings;
}

export interface EventStats {
  event_id: string;
  inventory: {
    available: number;
    held: number;
    sold: number;
    capacity: number;
    holds: { live: number; created: number; expired: number; conflicts: number };
  };
  queue?: {
    joined: number;
    waiting: number;
    active: number;
    admitted: number;
    admitted_per_s: number;
    abandoned: number;
    released: { ordered: number; left: number; idle: number; expired: number };
  };
  orders?: {
    placed: number;
    confirmed: number;
    completed: number;
    refunded: number;
    tickets_sold: number;
    revenue_cents: number;
    outbox_pending: number;
    outbox_dead: number;
  };
  defense?: Record<string, number>;
}

/** GET /v1/events/{id}/stats/series: columns as uPlot takes them. */
export interface StatsSeries {
  event_id: string;
  interval_s: number;
  counters: string[];
  t: number[];
  series: Record<string, (number | null)[]>;
}

export interface Order {
  order_id: string;
  event_id?: string;
  status: string;
  email?: string;
  total_cents: number;
  currency?: string;
  payment?: { status?: string; gateway?: string };
  tickets?: { id: string; seat_id: string; code?: string }[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: { key_id: string; scope: string };
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
}

/** One card gateway as GET /v1/payments/gateways tells it. */
export interface GatewayHealth {
  name: string;
  weight: number;
  breaker: 'closed' | 'half_open' | 'open';
  window: { calls: number; failures: number };
  latency: { window_s: number; samples: number; p50_us: number; p99_us: number };
}

/** One range of GET /v1/defense/blocklist or /allowlist; `source` only on the allowlist. */
export interface CidrEntry {
  cidr: string;
  reason: string;
  created_at: string | null;
  expires_at: string | null;
  source?: 'static' | 'runtime';
}

/** The decisions the decision log records, and the route classes it scores. */
export const kLoggedDecisions = [
  'allowed',
  'challenged',
  'challenge_passed',
  'challenge_failed',
  'risk_blocked',
] as const;
export type LoggedDecision = (typeof kLoggedDecisions)[number];
export const kScoredRoutes = ['queue_join', 'hold'] as const;
export type ScoredRoute = (typeof kScoredRoutes)[number];

/** One entry of GET /v1/defense/decisions. */
export interface ScoredDecision {
  sequence: number;
  at: string;
  request_id: string;
  route_class: ScoredRoute;
  event_id: string | null;
  client: string;
  features: Record<string, number>;
  score: number;
  decision: LoggedDecision;
}

/** A page of GET /v1/defense/decisions (docs/api.md, "Defence"). */
export interface DecisionPage {
  items: ScoredDecision[];
  next_after: number;
  next_before: number;
  oldest: number;
  latest: number;
  capacity: number;
  model_version: string;
  model_weights: Record<string, number>;
  model_thresholds: { challenge: number; block: number };
}

/** One network of GET /v1/events/{id}/stats/clients. */
export interface ClientPrefix {
  prefix: string;
  requests: number;
  challenged: number;
  blocked: number;
}
