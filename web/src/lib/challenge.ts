// The link between the API client, which meets `challenge_required` answers, and the page, which
// shows the ALTCHA widget solving them. The client asks; whatever the page registered answers
// with the `X-Altcha` payload. Kept apart so that the client does not depend on the UI.

import type { AltchaChallenge } from '../api/types';

export type ChallengeSolver = (challenge: AltchaChallenge, signal?: AbortSignal) => Promise<string>;

let current_solver: ChallengeSolver | null = null;

/** Registers the page's solver; returns the function that unregisters it. */
export function registerChallengeSolver(solver: ChallengeSolver): () => void {
  current_solver = solver;
  return () => {
    if (current_solver === solver) current_solver = null;
  };
}

export function solveChallenge(challenge: AltchaChallenge, signal?: AbortSignal): Promise<string> {
  if (!current_solver) return Promise.reject(new Error('No challenge solver is registered.'));
  return current_solver(challenge, signal);
}
