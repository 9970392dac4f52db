// The one way this page talks to boxoffice. Every answer that is not a success becomes an
// ApiError carrying the server's error code, which the page turns into plain words (i18n). The
// client also does what every call needs and no page should repeat: it attaches the fan's
// session (creating one the first time, replacing one the server no longer knows), waits out
// 429/503 answers as their Retry-After says, and solves a proof-of-work challenge when a queue
// join or a hold asks for one.

import { solveChallenge } from '../lib/challenge';
import { clearEventState, readJson, writeJson } from '../lib/storage';
import type { AltchaChallenge, Session } from './types';

/** A non-success answer, or no answer at all (`status` 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly retry_after_s: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Waits on 429/503 at most this often per call before the fan is told. */
const kBusyRetriesMax = 3;
/** A Retry-After longer than this is shown to the fan rather than waited out silently. */
const kBusyWaitMax_s = 30;
/** Challenges solved per call at most: a server that keeps refusing solutions is not looped on. */
const kChallengesMax = 3;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the fan's session token, creating a session first when there is none. */
  session?: boolean;
  /** Solve a 403 `challenge_required` and send the request again with the solution. */
  challengeable?: boolean;
  /** Wait out 429/503 answers (default); off for callers that have a better fallback. */
  waitWhenBusy?: boolean;
  signal?: AbortSignal;
}

export interface Answer {
  response: Response;
  body: unknown;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = window.setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        window.clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

function retryAfterSeconds(response: Response): number | null {
  const header = response.headers.get('Retry-After');
  if (header === null) return null;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

async function parseBody(response: Response): Promise<unknown> {
  if (response.status === 204 || response.status === 304) return undefined;
  const type = response.headers.get('Content-Type') ?? '';
  if (!type.includes('json')) return undefined;
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

/** The ApiError a non-success answer stands for. */
export function toError(response: Response, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } })
    ?.error;
  const code = typeof error?.code === 'string' ? error.code : 'unexpected_response';
  const message = typeof error?.message === 'string' ? error.message : response.statusText;
  const details =
    error?.details && typeof error.details === 'object'
      ? (error.details as Record<string, unknown>)
      : {};
  return new ApiError(response.status, code, message, details, retryAfterSeconds(response));
}

// ---- The fan's session ------------------------------------------------------------------------

const kSessionKey = 'boxoffice.session';
let session_creation: Promise<string> | null = null;

async function createSession(): Promise<string> {
  const { response, body } = await send('/v1/sessions', { method: 'POST', body: {} });
  if (!response.ok) throw toError(response, body);
  const session = body as Session;
  writeJson(kSessionKey, { session_token: session.session_token, expires_at: session.expires_at });
  return session.session_token;
}

/** The fan's session token; one is created on first use and when the stored one has expired. */
export function sessionToken(): Promise<string> {
  const stored = readJson<Session>(kSessionKey);
  // A minute's margin, so that a token is not sent in the last moments of its life.
  if (stored && Date.parse(stored.expires_at) - 60_000 > Date.now()) {
    return Promise.resolve(stored.session_token);
  }
  session_creation ??= createSession().finally(() => {
    session_creation = null;
  });
  return session_creation;
}

function forgetSession(): void {
  writeJson(kSessionKey, null);
  // Queue places, admissions and holds belong to the old session; a new one cannot use them.
  clearEventState();
}

// ---- Requests ---------------------------------------------------------------------------------

/** One HTTP exchange, retried while the server says it is busy (429, 503 with Retry-After). */
async function send(path: string, options: RequestOptions, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    ...options.headers,
    ...extra,
  };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  for (let attempt = 0; ; ++attempt) {
    let response: Response;
    try {
      response = await fetch(path, {
        method: options.method ?? 'GET',
        headers,
        body,
        signal: options.signal,
        cache: 'no-store',
        credentials: 'same-origin',
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new ApiError(0, 'network_error', String(error));
    }
    const wait_s = retryAfterSeconds(response);
    const busy =
      (response.status === 429 || response.status === 503) && options.waitWhenBusy !== false;
    if (busy && wait_s !== null && wait_s <= kBusyWaitMax_s && attempt < kBusyRetriesMax) {
      await response.body?.cancel();
      await sleep(Math.max(wait_s, 0.25) * 1000, options.signal);
      continue;
    }
    return { response, body: await parseBody(response) } satisfies Answer;
  }
}

/**
 * Sends a request with everything a fan's call needs and returns its answer whatever the status;
 * `request` below is the usual way in, this one serves the few callers that read headers or 304s.
 */
export async function exchange(path: string, options: RequestOptions = {}): Promise<Answer> {
  let session_replaced = false;
  let challenges = 0;
  let altcha: string | null = null;
  for (;;) {
    const extra: Record<string, string> = {};
    if (options.session) extra.Authorization = `Bearer ${await sessionToken()}`;
    if (altcha !== null) extra['X-Altcha'] = altcha;
    const answer = await send(path, options, extra);
    const { response, body } = answer;
    if (response.ok || response.status === 304) return answer;

    const error = toError(response, body);
    if (
      options.session &&
      response.status === 401 &&
      (error.code === 'invalid_session' || error.code === 'missing_session') &&
      !session_replaced
    ) {
      // The server restarted with another secret or the session expired: start a new one.
      forgetSession();
      session_replaced = true;
      continue;
    }
    // The current format when the server offers it (the widget's own; a server of before it
    // sends v1 only), else v1, which the widget solves through its compatibility path.
    const offered = error.details.challenge_v2 ?? error.details.challenge;
    if (
      options.challengeable &&
      error.code === 'challenge_required' &&
      challenges < kChallengesMax &&
      offered
    ) {
      ++challenges;
      altcha = await solveChallenge(offered as AltchaChallenge, options.signal);
      continue;
    }
    return answer;
  }
}

/** Sends a request and returns its JSON body, or throws ApiError. */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const { response, body } = await exchange(path, options);
  if (!response.ok) throw toError(response, body);
  return body as T;
}
