// One of the bot defence's operator lists (GET, POST and DELETE /v1/defense/blocklist or
// /allowlist): its ranges in a table, a form to add one (a CIDR range or one address, a reason,
// and how long it lasts), and Remove on each runtime range after a confirmation. The allowlist's
// static ranges (--defense-allowlist) are shown, but only the configuration removes them.

import { useState } from 'preact/hooks';
import { useLoad } from '../../lib/hooks';
import { call, describe } from '../api';
import type { CidrEntry } from '../types';
import { ConfirmDialog } from './ConfirmDialog';

// The server's bounds (docs/defense.md): a reason of at most 500 characters, a TTL up to a year.
const kReasonMaxChars = 500;
const kTtlMax_s = 365 * 86_400;

export type ListKind = 'blocklist' | 'allowlist';

const kWords: Record<
  ListKind,
  {
    title: string;
    about: string;
    add: string;
    empty: string;
    added: (entry: CidrEntry) => string;
    confirm: (cidr: string) => string;
    consequence: string;
    removed: (cidr: string) => string;
  }
> = {
  blocklist: {
    title: 'Blocklist',
    about: 'Every request from these ranges is refused (403 blocked) before anything else.',
    add: 'Block',
    empty: 'Nothing is blocked.',
    added: (entry) =>
      `${entry.cidr} is blocked${entry.expires_at ? ` until ${when(entry.expires_at)}` : ''}.`,
    confirm: (cidr) => `Unblock ${cidr}?`,
    consequence: 'Requests from this range are let in again, as any other client’s.',
    removed: (cidr) => `${cidr} is no longer blocked.`,
  },
  allowlist: {
    title: 'Allowlist',
    about:
      'These ranges skip the rate limits and the risk score, never the blocklist: monitoring, ' +
      'health checks, load tests.',
    add: 'Allow',
    empty: 'Nothing is allowlisted.',
    added: (entry) =>
      `${entry.cidr} is allowlisted${entry.expires_at ? ` until ${when(entry.expires_at)}` : ''}.`,
    confirm: (cidr) => `Remove ${cidr} from the allowlist?`,
    consequence: 'Requests from this range are rate-limited and scored again, as any other’s.',
    removed: (cidr) => `${cidr} is no longer allowlisted.`,
  },
};

function when(at: string): string {
  return new Date(at).toLocaleString('en-GB');
}

type Outcome = { ok: boolean; text: string } | null;

/** The TTL in seconds the form asks for: undefined when empty, null when not a valid one. */
function ttlSeconds(text: string, unit: 'minutes' | 'seconds'): number | undefined | null {
  if (text.trim() === '') return undefined;
  const value = Number(text) * (unit === 'minutes' ? 60 : 1);
  return Number.isInteger(value) && value >= 1 && value <= kTtlMax_s ? value : null;
}

export function CidrListPanel(props: { kind: ListKind }) {
  const words = kWords[props.kind];
  const path = `/v1/defense/${props.kind}`;
  const [entries, reload] = useLoad(
    (signal) => call<{ items: CidrEntry[] }>(path, { signal }).then((body) => body.items),
    [path],
  );
  const [cidr, setCidr] = useState('');
  const [reason, setReason] = useState('');
  const [ttl, setTtl] = useState('');
  const [unit, setUnit] = useState<'minutes' | 'seconds'>('minutes');
  const [removing, setRemoving] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const title_id = `${props.kind}-title`;

  const add = async (event: Event) => {
    event.preventDefault();
    const range = cidr.trim();
    if (!range) return setOutcome({ ok: false, text: 'Enter a CIDR range or an address.' });
    const ttl_s = ttlSeconds(ttl, unit);
    if (ttl_s === null) {
      return setOutcome({
        ok: false,
        text: 'Expires after must be a whole number of seconds from 1 up to a year.',
      });
    }
    setBusy(true);
    try {
      const added = await call<CidrEntry>(path, {
        method: 'POST',
        body: { cidr: range, reason: reason.trim(), ...(ttl_s ? { ttl_s } : {}) },
      });
      setOutcome({ ok: true, text: words.added(added) });
      setCidr('');
      setReason('');
      setTtl('');
      reload();
    } catch (error) {
      setOutcome({ ok: false, text: describe(error) });
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    const range = removing;
    setRemoving(null);
    if (range === null) return;
    setBusy(true);
    try {
      await call<void>(`${path}?cidr=${encodeURIComponent(range)}`, { method: 'DELETE' });
      setOutcome({ ok: true, text: words.removed(range) });
      reload();
    } catch (error) {
      setOutcome({ ok: false, text: describe(error) });
    } finally {
      setBusy(false);
    }
  };

  const allowlist = props.kind === 'allowlist';
  return (
    <section class="card" aria-labelledby={title_id}>
      <h2 id={title_id}>{words.title}</h2>
      <p class="muted">{words.about}</p>
      {entries.state === 'loading' && <p>Loading the {words.title.toLowerCase()}…</p>}
      {entries.state === 'failed' && (
        <div class="notice notice-error" role="alert">
          <p>{describe(entries.error)}</p>
          <button type="button" onClick={reload}>
            Retry
          </button>
        </div>
      )}
      {entries.state === 'ready' && entries.value.length === 0 && <p>{words.empty}</p>}
      {entries.state === 'ready' && entries.value.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label={`${words.title} ranges`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Range</th>
                <th scope="col">Reason</th>
                <th scope="col">Added</th>
                <th scope="col">Expires</th>
                {allowlist && <th scope="col">Source</th>}
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {entries.value.map((entry, index) => (
                <tr key={`${entry.source ?? ''}${entry.cidr}`}>
                  <td class="nowrap" id={`${props.kind}-range-${index}`}>
                    {entry.cidr}
                  </td>
                  <td>{entry.reason || '—'}</td>
                  <td>{entry.created_at ? when(entry.created_at) : '—'}</td>
                  <td>{entry.expires_at ? when(entry.expires_at) : 'never'}</td>
                  {allowlist && (
                    <td>{entry.source === 'static' ? 'configuration' : 'operator'}</td>
                  )}
                  <td>
                    {entry.source === 'static' ? (
                      <span class="muted">set by --defense-allowlist</span>
                    ) : (
                      <button
                        type="button"
                        class="button-danger"
                        aria-describedby={`${props.kind}-range-${index}`}
                        disabled={busy}
                        onClick={() => setRemoving(entry.cidr)}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form class="control-row" onSubmit={add} noValidate>
        <label class="wide">
          <span>Range</span>
          <input
            type="text"
            spellcheck={false}
            autoComplete="off"
            placeholder="203.0.113.0/24"
            value={cidr}
            onInput={(event) => setCidr(event.currentTarget.value)}
          />
          <span class="hint">a CIDR range, or one address</span>
        </label>
        <label class="wide">
          <span>Reason</span>
          <input
            type="text"
            maxLength={kReasonMaxChars}
            value={reason}
            onInput={(event) => setReason(event.currentTarget.value)}
          />
          <span class="hint">for the audit log and the next operator</span>
        </label>
        <label>
          <span>Expires after</span>
          <input
            type="number"
            min={1}
            step={1}
            inputMode="numeric"
            value={ttl}
            onInput={(event) => setTtl(event.currentTarget.value)}
          />
          <span class="hint">empty: until removed</span>
        </label>
        <label>
          <span>Unit</span>
          <select
            value={unit}
            onChange={(event) => setUnit(event.currentTarget.value as 'minutes' | 'seconds')}
          >
            <option value="minutes">minutes</option>
            <option value="seconds">seconds</option>
          </select>
        </label>
        <button type="submit" disabled={busy}>
          {words.add}
        </button>
      </form>
      <p role="status" class={outcome && !outcome.ok ? 'notice notice-error' : 'outcome'}>
        {outcome?.text ?? ''}
      </p>
      <ConfirmDialog
        open={removing !== null}
        title={removing === null ? '' : words.confirm(removing)}
        onConfirm={remove}
        onCancel={() => setRemoving(null)}
      >
        <p>{words.consequence}</p>
      </ConfirmDialog>
    </section>
  );
}
