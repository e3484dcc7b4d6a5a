import { useEffect, useState } from 'react';
import type { Api } from '../api';
import { ago, bytes, dateTime } from '../format';
import { useAsync } from '../hooks';

/** Which agents sent what and when, and their last error (GET /api/v1/fleet), every 10 s. */
export function FleetView({
  api,
  nonce,
  onOpen,
}: {
  api: Api;
  nonce: number;
  /** show the service's profiles */
  onOpen: (service: string) => void;
}) {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((x) => x + 1), 10_000);
    return () => clearInterval(t);
  }, []);
  const fleet = useAsync(() => api.fleet(), [api, nonce, tick]);
  if (fleet.error) return <p className="error">Fleet view failed: {fleet.error.message}</p>;
  if (!fleet.data) return <p className="muted">Loading…</p>;
  const { agents, tenant } = fleet.data;
  const at = (ms: number | null) =>
    ms === null ? '—' : <span title={dateTime(ms)}>{ago(ms)}</span>;
  return (
    <section className="panel">
      <h2>
        Fleet of tenant <code>{tenant}</code>: {agents.length} agent{agents.length === 1 ? '' : 's'}
      </h2>
      {agents.length === 0 ? (
        <p className="muted">No agent has sent anything yet.</p>
      ) : (
        <table className="fleet" data-testid="fleet-table">
          <thead>
            <tr>
              <th>Service</th>
              <th>Instance</th>
              <th>Agent</th>
              <th>Last upload</th>
              <th className="num">Bytes</th>
              <th>Last decode</th>
              <th>Last export</th>
              <th>Backends</th>
              <th>Last error</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => (
              <tr
                key={`${a.service}\u001f${a.instance}`}
                className={a.lastError ? 'has-error' : ''}
              >
                <td>
                  <button
                    type="button"
                    className="link"
                    title="show this service's flame graph"
                    onClick={() => onOpen(a.service)}
                  >
                    {a.service}
                  </button>
                </td>
                <td>{a.instance || <span className="muted">—</span>}</td>
                <td>
                  {[
                    a.agent.name &&
                      `${a.agent.name}${a.agent.version ? `/${a.agent.version}` : ''}`,
                    a.agent.spyName,
                  ]
                    .filter(Boolean)
                    .join(' · ') || '—'}
                </td>
                <td>{at(a.lastUploadAt)}</td>
                <td className="num">
                  {a.lastUploadBytes === null ? '—' : bytes(a.lastUploadBytes)}
                </td>
                <td>{at(a.lastDecodeAt)}</td>
                <td>{at(a.lastExportAt)}</td>
                <td>
                  {Object.entries(a.backends).map(([b, outcome]) => (
                    <span key={b} className={`badge ${outcome}`}>
                      {b}: {outcome}
                    </span>
                  ))}
                </td>
                <td className="error-cell">
                  {a.lastError ? (
                    <>
                      <span className="muted">
                        {a.lastError.stage}, {ago(a.lastError.at)}:
                      </span>{' '}
                      {a.lastError.message}
                    </>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
