// How the console talks to boxoffice: every call carries the key the operator signed in with,
// and goes through the fan page's client, so a non-success answer is its ApiError (the server's
// code and message).
// The key lives in this tab's sessionStorage (or only in memory where storage is refused): never
// in a URL, a cookie or localStorage, so it goes when the tab does.

import { ApiError, request } from '../api/client';

const kKeyStorage = 'boxoffice.console.key';
let key_in_memory: string | null = null;

export const operatorKey = {
  get(): string | null {
    try {
      return window.sessionStorage.getItem(kKeyStorage) ?? key_in_memory;
    } catch {
      return key_in_memory;
    }
  },
  set(key: string | null): void {
    key_in_memory = key;
    try {
      if (key === null) window.sessionStorage.removeItem(kKeyStorage);
      else window.sessionStorage.setItem(kKeyStorage, key);
    } catch {
      // Storage refused (a private window's quota): the key stays in memory for this page.
    }
  },
};

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** The key to send instead of the signed-in one (signing in checks a key before keeping it). */
  key?: string;
}

/**
 * One call with the operator's key, through the fan page's client (its JSON handling, its
 * waits on 429/503 and its ApiError); resolves to the body (undefined for 204).
 */
export function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const key = options.key ?? operatorKey.get();
  return request<T>(path, {
    method: options.method,
    body: options.body,
    signal: options.signal,
    headers: { ...options.headers, ...(key ? { Authorization: `Bearer ${key}` } : {}) },
  });
}

/** Plain words for an error the console shows; the server's own message says the most. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'The key was refused: sign in again with a valid key.';
    if (error.status === 403 && error.code === 'insufficient_scope') {
      return 'This key may only view the dashboard; controls need the operator key.';
    }
    if (error.status === 0) return 'The server did not answer. Check the connection and retry.';
    return `${error.message} (${error.code})`;
  }
  return String(error);
}

/** A fresh idempotency key for an action the operator confirmed once. */
export function idempotencyKey(): string {
  return `console-${crypto.randomUUID()}`;
}
