// "Relay on" in the status bar while the Claude Desktop clipboard relay is on: copying text then
// posts it to a room, so the user must be able to see that at a glance from every view.
import { useQuery } from '../../data/useQuery';
import './relay-indicator.css';

export function RelayIndicator() {
  // A failed read (the assist capability absent, the connection down) shows nothing, as "off" would.
  const q = useQuery('assist.relay.get', {}, { apply: { 'assist.relay': (_prev, s) => s } });
  if (!q.data?.enabled) return null;
  return (
    <span className="relay-indicator" role="note" title="The clipboard relay is on: text you copy is posted to a room (Agents view)">
      ● Relay on
    </span>
  );
}
