// The client networks that sent the event the most scored requests in the last minute
// (GET /v1/events/{id}/stats/clients): where a crowd of bots shows first, a /24 or /48 with many
// joins and holds, many of them challenged. Read again every five seconds; the defence page
// blocks a network and tells why its requests were challenged.

import { usePolled } from '../../lib/hooks';
import { call, describe } from '../api';
import { consolePaths } from '../router';
import type { ClientPrefix } from '../types';

const kRefresh_ms = 5000;
const kWindow_s = 60;
const kShown = 10;

export function ClientsPanel(props: { event_id: string }) {
  const polled = usePolled(
    async (signal) => {
      const path =
        `/v1/events/${encodeURIComponent(props.event_id)}/stats/clients` +
        `?window_s=${kWindow_s}&limit=${kShown}`;
      return (await call<{ items: ClientPrefix[] }>(path, { signal })).items;
    },
    kRefresh_ms,
    [props.event_id],
  );
  const prefixes = polled.value;
  const error = polled.error === null ? null : describe(polled.error);

  return (
    <section class="card" aria-labelledby="clients-title">
      <h2 id="clients-title">Busiest client networks</h2>
      <p class="muted">
        Queue joins and holds of the last minute, by /24 (IPv4) or /48 (IPv6).{' '}
        <a href={consolePaths.defense()}>Defence</a> blocks a network and shows why a request was
        challenged.
      </p>
      {error && <p class="notice notice-error">{error}</p>}
      {prefixes !== null && prefixes.length === 0 && <p>No scored request in the last minute.</p>}
      {prefixes !== null && prefixes.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Busiest client networks">
          <table>
            <thead>
              <tr>
                <th scope="col">Network</th>
                <th scope="col">Requests</th>
                <th scope="col">Challenged</th>
                <th scope="col">Blocked</th>
              </tr>
            </thead>
            <tbody>
              {prefixes.map((prefix) => (
                <tr key={prefix.prefix}>
                  <th scope="row">{prefix.prefix}</th>
                  <td>{prefix.requests}</td>
                  <td>{prefix.challenged}</td>
                  <td>{prefix.blocked}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
