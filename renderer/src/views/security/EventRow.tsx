import type { AuditEvent } from '../../../../preload/contract';
import { cameraLabel, nameCameras, type CameraNames } from '../../stores/cameraNamesCore';
import { time } from './securityCore';

export function Source({ source, names }: { source: string; names: CameraNames }) {
  const name = cameraLabel(source, names);
  return name === source || !names.has(source) ? (
    <span className="mono">{source}</span>
  ) : (
    <>
      {name} <span className="mono muted small">{source}</span>
    </>
  );
}

export function EventRow({ ev, names, onResolve }: { ev: AuditEvent; names: CameraNames; onResolve: (ev: AuditEvent) => void }) {
  return (
    <tr>
      <td className="nowrap">{time(ev.ts)}</td>
      <td>
        <span className={`badge sev-${ev.severity}`}>{ev.severity}</span>
      </td>
      <td>
        <code>{ev.kind}</code>
      </td>
      <td>
        <Source source={ev.source} names={names} />
      </td>
      <td className="wrap-anywhere">
        {nameCameras(ev.message, names)}
        {Object.keys(ev.detail).length > 0 && (
          <div className="detail mono">
            {Object.entries(ev.detail)
              .map(([k, v]) => `${k}=${String(v)}`)
              .join('  ')}
          </div>
        )}
        {ev.resolvedAt && (
          <div className="muted">
            Resolved {time(ev.resolvedAt)}
            {ev.resolvedNote ? `: ${ev.resolvedNote}` : ''}
          </div>
        )}
      </td>
      <td>
        {!ev.resolvedAt && (
          <button type="button" onClick={() => onResolve(ev)} aria-label={`Mark event ${ev.id} resolved`}>
            Resolve
          </button>
        )}
      </td>
    </tr>
  );
}
