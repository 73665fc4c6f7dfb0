import { useNow } from '../data/clock';
import { useApp } from '../stores/app';
import { RelayIndicator } from '../views/agents/RelayIndicator';
import { brokerStatusLine } from './brokerStatus';

const clockTime = (ms: number): string => new Date(ms).toLocaleTimeString();

const labels = { connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting', closed: 'Disconnected' } as const;

export function StatusBar() {
  const connection = useApp((s) => s.connection);
  const info = useApp((s) => s.info);
  // Ticks only while it is not connected (the seconds since it was lost are shown).
  const now = useNow(1000, connection.status !== 'open');
  const seconds = Math.max(0, Math.round((now - connection.since) / 1000));
  const broker = brokerStatusLine(info?.broker, clockTime);

  return (
    <footer className="statusbar" aria-label="Status">
      <span role="status" aria-live="polite" className={`conn conn-${connection.status}`} data-testid="connection">
        <span className="dot" aria-hidden="true" />
        {labels[connection.status]}
        {connection.status !== 'open' && connection.detail ? ` — ${connection.detail}` : ''}
        {connection.status === 'reconnecting' ? ` (${seconds} s)` : ''}
      </span>
      {broker && (
        <span role="status" aria-live="polite" className={broker.severity === 'critical' ? 'sev-critical' : 'warn'} title={broker.detail} data-testid="broker-status">
          ⚠ {broker.text}
        </span>
      )}
      <RelayIndicator />
      {info && (
        <>
          <span>{info.mode === 'browser' ? 'Browser mode' : 'Desktop app'}</span>
          <span title="Version">v{info.version}</span>
          <span className="datadir" title="Data folder">
            Data: <code>{info.dataDir}</code>
          </span>
          {info.warnings.map((w) => (
            <span key={w} className="warn" role="note">
              ⚠ {w}
            </span>
          ))}
        </>
      )}
    </footer>
  );
}
