// The bot defence (docs/defense.md): the blocklist and the allowlist, and the decision log that
// answers "why was this fan challenged?". A viewer key sees it all; its changes are refused
// (403 insufficient_scope), which the lists show.

import { CidrListPanel } from '../components/CidrListPanel';
import { DecisionLogPanel } from '../components/DecisionLogPanel';

export function DefensePage() {
  return (
    <>
      <h1 tabIndex={-1}>Defence</h1>
      <div class="defense-lists">
        <CidrListPanel kind="blocklist" />
        <CidrListPanel kind="allowlist" />
      </div>
      <DecisionLogPanel />
    </>
  );
}
