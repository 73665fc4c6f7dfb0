import type { MethodOutput } from '../../../../preload/contract';

type Status = MethodOutput<'swarm.status'>;
type Zones = MethodOutput<'swarm.zones'>;

export function ZonesSection({ status, zones, onEdit }: { status: Status | undefined; zones: Zones | undefined; onEdit: () => void }) {
  return (
    <section aria-labelledby="swarm-zones-h">
      <div className="swarm-section-head">
        <h2 id="swarm-zones-h">Zones</h2>
        <span className="muted">{zones ? (zones.source === 'demo' ? 'from the demo scene' : zones.source === 'user' ? 'set by you' : 'none set') : ''}</span>
        <button type="button" className="ghost" onClick={onEdit} disabled={!zones}>
          Edit zones…
        </button>
      </div>
      {status && status.zones.length === 0 ? (
        <p className="empty">No zones yet. Events are confirmed per zone: add the site's zones (ground polygons in metres).</p>
      ) : (
        <table className="table" aria-label="Zones">
          <thead>
            <tr>
              <th scope="col">Zone</th>
              <th scope="col">Covering</th>
              <th scope="col">f</th>
              <th scope="col">Healthy</th>
              <th scope="col">Tolerance</th>
            </tr>
          </thead>
          <tbody>
            {status?.zones.map((z) => (
              <tr key={z.zone}>
                <td>{zones?.zones.find((c) => c.id === z.zone)?.name ?? z.zone}</td>
                <td>{z.n}</td>
                <td>{z.f}</td>
                <td>{z.healthy}</td>
                <td>
                  {z.lacksLiveness ? (
                    <span className="sev-warning" role="status">
                      lacks 2f+1 cameras ({z.healthy} of {2 * z.f + 1}): an event may go unconfirmed
                    </span>
                  ) : z.byzantineTolerant ? (
                    <span className="sev-info">tolerates {z.f} lying camera{z.f === 1 ? '' : 's'}</span>
                  ) : (
                    <span className="muted">f = 0: one camera confirms alone</span>
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
