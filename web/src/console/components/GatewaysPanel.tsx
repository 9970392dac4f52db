// The card gateways as the payment router sees them (GET /v1/payments/gateways): each one's
// circuit breaker, the calls and failures of its 10 s window, and the latency of its calls of the
// last minute. Read again every two seconds; the gateways serve every event, so this panel is
// the same on every dashboard.

import { usePolled } from '../../lib/hooks';
import { call, describe } from '../api';
import type { GatewayHealth } from '../types';

const kRefresh_ms = 2000;

const kBreakerWords: Record<GatewayHealth['breaker'], string> = {
  closed: 'closed (taking payments)',
  half_open: 'half-open (probing)',
  open: 'open (skipped)',
};

function milliseconds(us: number): string {
  return us >= 10_000 ? `${Math.round(us / 1000)} ms` : `${(us / 1000).toFixed(1)} ms`;
}

function errorRate(gateway: GatewayHealth): string {
  const { calls, failures } = gateway.window;
  if (calls === 0) return '–';
  return `${((100 * failures) / calls).toFixed(1)}%`;
}

export function GatewaysPanel() {
  const polled = usePolled(
    async (signal) =>
      (await call<{ items: GatewayHealth[] }>('/v1/payments/gateways', { signal })).items,
    kRefresh_ms,
    [],
  );
  const gateways = polled.value;
  const error = polled.error === null ? null : describe(polled.error);

  return (
    <section class="card" aria-labelledby="gateways-title">
      <h2 id="gateways-title">Payment gateways</h2>
      {error && <p class="notice notice-error">{error}</p>}
      {gateways !== null && gateways.length === 0 && (
        <p>No card gateway is configured: orders are refused until one is (--gateway).</p>
      )}
      {gateways !== null && gateways.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Payment gateways">
          <table>
            <thead>
              <tr>
                <th scope="col">Gateway</th>
                <th scope="col">Weight</th>
                <th scope="col">Breaker</th>
                <th scope="col">Calls (10 s)</th>
                <th scope="col">Error rate</th>
                <th scope="col">Latency p50 / p99 (1 min)</th>
              </tr>
            </thead>
            <tbody>
              {gateways.map((gateway) => (
                <tr key={gateway.name}>
                  <th scope="row">{gateway.name}</th>
                  <td>{gateway.weight}</td>
                  <td>
                    <span class={`badge badge-breaker-${gateway.breaker}`}>
                      {kBreakerWords[gateway.breaker]}
                    </span>
                  </td>
                  <td>
                    {gateway.window.calls}
                    {gateway.window.failures > 0 && ` (${gateway.window.failures} failed)`}
                  </td>
                  <td>{errorRate(gateway)}</td>
                  <td>
                    {gateway.latency.samples === 0
                      ? 'no calls'
                      : `${milliseconds(gateway.latency.p50_us)} / ${milliseconds(gateway.latency.p99_us)}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
