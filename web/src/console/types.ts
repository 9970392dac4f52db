// The shapes of the operator routes the console reads (docs/api.md).

export interface QueueSettings {
  enabled: boolean;
  policy: string;
  admission_rate_per_s: number;
  max_active: number;
  access_ttl_s: number;
  paused: boolean;
  message?: string | null;
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
