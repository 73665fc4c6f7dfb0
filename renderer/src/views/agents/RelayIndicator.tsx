// "Relay on" in the status bar while the Claude Desktop clipboard relay is on: copying text then
// posts it to a room, so the user must be able to see that at a glance from every view.
import { useEffect, useState } from 'react';
import { transport } from '../../transport';
import './relay-indicator.css';

export function RelayIndicator() {
  const [on, setOn] = useState(false);
  useEffect(() => {
    const t = transport();
    const refresh = (): void => void t.call('assist.relay.get', {}).then((s) => setOn(s.enabled)).catch(() => setOn(false));
    refresh();
    const offs = [t.on('assist.relay', (s) => setOn(s.enabled)), t.onState((s) => s.status === 'open' && refresh())];
    return () => offs.forEach((off) => off());
  }, []);
  if (!on) return null;
  return (
    <span className="relay-indicator" role="note" title="The clipboard relay is on: text you copy is posted to a room (Agents view)">
      ● Relay on
    </span>
  );
}
