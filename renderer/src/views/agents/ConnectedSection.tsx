import { ErrorLine } from '../../components/ErrorLine';
import { useNow } from '../../data/clock';
import { useQuery } from '../../data/useQuery';
import { relative } from './agentsCore';

export function ConnectedSection() {
  const q = useQuery('agents.connected', {}, { apply: { 'agents.connected': (prev, r) => (prev ? { ...prev, agents: r.agents } : prev) } });
  const agents = q.data?.agents ?? [];
  const port = q.data?.port ?? null;
  const now = useNow();
  return (
    <section className="card" aria-labelledby="connected-h">
      <h2 id="connected-h">Connected agents</h2>
      <p className="small muted">{port ? `The bridge listens on 127.0.0.1:${port} (WebSocket /ws and HTTP /api).` : q.loading ? 'The bridge is starting…' : 'The bridge is not listening.'}</p>
      <ErrorLine error={q.error} />
      {agents.length === 0 ? (
        <p className="empty small">No agent is connected. Scripts using the HTTP API or the CLI do not stay connected; they show as “last used” above.</p>
      ) : (
        <table className="table dense" aria-label="Connected agents">
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Presence</th>
              <th scope="col">Rooms</th>
              <th scope="col">Connected</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => (
              <tr key={`${a.tokenId}-${a.peer}-${a.connectedAt}`}>
                <td>
                  {a.name} {a.verifiedKey && <span className="ok small">signed</span>}
                </td>
                <td>
                  <span className={`presence presence-${a.presence}`} aria-hidden="true" /> {a.presence}
                </td>
                <td className="small">{a.rooms.join(', ') || '—'}</td>
                <td className="small">{relative(a.connectedAt, now, 'past')}</td>
                <td className="small">{relative(a.lastSeenAt, now, 'past')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
