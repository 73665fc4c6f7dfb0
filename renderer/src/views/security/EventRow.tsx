import type { AuditEvent } from '../../../../preload/contract';
import { cameraLabel, nameCameras, type CameraNames } from '../../stores/cameraNamesCore';
import { CopyButton } from '../../components/CopyButton';
import { shortFingerprint, splitFingerprints, time } from './securityCore';

/** Text with each certificate fingerprint shortened; the whole one is in its title and copied by its button. */
export function WithFingerprints({ text }: { text: string }) {
  return (
    <>
      {splitFingerprints(text).map((p, i) =>
        'text' in p ? (
          p.text
        ) : (
          <span key={i} className="fingerprint-short">
            <code title={p.fingerprint}>
              {shortFingerprint(p.fingerprint)}
            </code>
            <CopyButton compact text={p.fingerprint} label={`Copy fingerprint ${shortFingerprint(p.fingerprint)}`} />
          </span>
        ),
      )}
    </>
  );
}

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
        <WithFingerprints text={nameCameras(ev.message, names)} />
        {Object.keys(ev.detail).length > 0 && (
          <div className="detail mono">
            <WithFingerprints
              text={Object.entries(ev.detail)
                .map(([k, v]) => `${k}=${String(v)}`)
                .join('  ')}
            />
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
