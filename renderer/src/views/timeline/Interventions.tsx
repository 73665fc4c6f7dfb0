import type { TimelineIntervention, TimelineZone } from '../../../../preload/contract';
import { clock } from './format';

export function Interventions(p: { list: TimelineIntervention[]; zones: TimelineZone[]; live: boolean }) {
  const name = (id: string): string => p.zones.find((z) => z.id === id)?.name ?? id;
  return (
    <section aria-label="Intervention points" className="timeline-card">
      <h2>Intervention points</h2>
      {p.list.length === 0 ? (
        <p className="muted">{p.zones.length ? 'No track is likely to enter a restricted zone.' : 'Draw a restricted zone to get intervention points.'}</p>
      ) : (
        <ul className="iv-list">
          {p.list.map((iv) => (
            <li key={`${iv.trackId}|${iv.zoneId}`} className="intervention-item">
              <div>
                <strong>{name(iv.zoneId)}</strong> · track {iv.trackId}
              </div>
              <div>
                probability <span className="stat-value">{iv.probability.toFixed(2)}</span> · lead time <span className="stat-value">{iv.leadTimeS.toFixed(1)} s</span> · act by {clock(iv.actBy)}
              </div>
              <div className="muted">{iv.suggestedAction}</div>
            </li>
          ))}
        </ul>
      )}
      {!p.live && <p className="muted">Scrubbed: showing interventions raised around that moment.</p>}
    </section>
  );
}
