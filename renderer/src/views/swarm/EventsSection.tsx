import type { SwarmEvent } from '../../../../preload/contract';
import { cameraLabel, type CameraNames } from '../../stores/cameraNamesCore';

const time = (ts: number): string => new Date(ts).toLocaleTimeString(undefined, { hour12: false });

export function EventsSection({ events, eventTotal, names, zoneName }: { events: SwarmEvent[]; eventTotal: number; names: CameraNames; zoneName: (id: string) => string }) {
  return (
    <section aria-labelledby="swarm-events-h">
      <div className="swarm-section-head">
        <h2 id="swarm-events-h">Confirmed events</h2>
        <span className="muted">{eventTotal} in all</span>
      </div>
      {events.length === 0 ? (
        <p className="empty">No confirmed events yet. An event is confirmed when f+1 cameras covering its zone report it.</p>
      ) : (
        <ol className="swarm-events" aria-label="Confirmed events">
          {events.map((ev) => (
            <li key={ev.id}>
              <div>
                <strong>{ev.cls}</strong> in {zoneName(ev.zone)} <span className="muted">{time(ev.startTs)}{ev.closed ? `–${time(ev.endTs)}` : ', ongoing'}</span>
              </div>
              <div className="muted">
                confirmed by {ev.confirmers.map((c) => cameraLabel(c, names)).join(', ')} (needs {ev.f + 1} of {ev.n})
                {ev.disagreed.length > 0 && (
                  <>
                    {' '}· disagreed: {ev.disagreed.map((c) => cameraLabel(c, names)).join(', ')}
                  </>
                )}
                {ev.flagged.length > 0 && <> · flagged: {ev.flagged.map((c) => cameraLabel(c, names)).join(', ')}</>}
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
