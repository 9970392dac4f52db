// The latest operator actions on every event (GET /v1/audit): who (key and scope), when, what,
// on what, and what changed. Read again every few seconds and after an action of this console.

import { usePolled } from '../../lib/hooks';
import { call, describe } from '../api';
import type { AuditEntry } from '../types';

const kRefresh_ms = 5000;
const kShown = 20;

function change(entry: AuditEntry): string {
  const before = entry.before as Record<string, unknown> | undefined;
  const after = entry.after as Record<string, unknown> | undefined;
  if (!after || typeof after !== 'object') return '';
  const keys = Object.keys(after).filter(
    (key) => !before || JSON.stringify(before[key]) !== JSON.stringify(after[key]),
  );
  return keys
    .map((key) =>
      before && key in before
        ? `${key}: ${JSON.stringify(before[key])} → ${JSON.stringify(after[key])}`
        : `${key}: ${JSON.stringify(after[key])}`,
    )
    .join('; ');
}

export function AuditPanel(props: { version: number }) {
  const audit = usePolled(
    async (signal) => {
      // The log pages oldest first; `latest` says where the newest kShown begin.
      const head = await call<{ latest: number | null }>('/v1/audit?limit=1', { signal });
      const after = Math.max(0, (head.latest ?? 0) - kShown);
      const page = await call<{ items: AuditEntry[] }>(
        `/v1/audit?after=${after}&limit=${kShown}`,
        { signal },
      );
      return [...page.items].reverse();
    },
    kRefresh_ms,
    [props.version],
  );
  const entries = audit.value;
  const error = audit.error === null ? null : describe(audit.error);

  const shown = entries ?? [];
  return (
    <section class="card" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      {error && <p class="notice notice-error">{error}</p>}
      {entries !== null && shown.length === 0 && <p>No operator action yet.</p>}
      {shown.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Audit log entries">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((entry) => (
                <tr key={entry.id}>
                  <td>{new Date(entry.at).toLocaleTimeString('en-GB')}</td>
                  <td>
                    {entry.actor.key_id} ({entry.actor.scope})
                  </td>
                  <td>{entry.action}</td>
                  <td>{entry.target}</td>
                  <td>{change(entry)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
