import * as Switch from '@radix-ui/react-switch';
import type { RoomListItem } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { useNow } from '../../data/clock';
import { useAction } from '../../data/useAction';
import { useQuery } from '../../data/useQuery';
import { transport } from '../../transport';
import { relative, secondsLeft, skippedSummary } from './agentsCore';

export function RelaySection({ rooms }: { rooms: RoomListItem[] }) {
  const q = useQuery('assist.relay.get', {}, { apply: { 'assist.relay': (_prev, s) => s } });
  const state = q.data;
  const now = useNow(1000, !!state?.undoable.length || !!state?.enabled);
  const setRelay = useAction(async (enabled: boolean, roomId?: string) => {
    const s = await transport().call('assist.relay.set', { enabled, ...(roomId ? { roomId } : {}) });
    q.apply(() => s);
  });
  const undoRelay = useAction((messageId: string) => transport().call('assist.relay.undo', { messageId }));
  const set = (enabled: boolean, roomId?: string): Promise<unknown> => setRelay.run(enabled, roomId);
  const undo = (messageId: string): Promise<unknown> => undoRelay.run(messageId);
  const error = setRelay.error ?? undoRelay.error ?? q.error;
  const roomName = (id: string | null): string => rooms.find((r) => r.id === id)?.name ?? id ?? '—';
  const undoable = state?.undoable.filter((u) => u.until > now) ?? [];
  return (
    <section className="card" aria-labelledby="relay-h">
      <h2 id="relay-h">
        Clipboard relay for Claude Desktop {state?.enabled && <span className="relay-on">● Relay on</span>}
      </h2>
      <p className="small muted">
        No setup in Claude Desktop: while this is on, text you copy (a Claude Desktop reply) is posted to the room as from Desktop, and messages addressed to
        Desktop are put on your clipboard. Concealed copies, secret-looking text and OmniSight’s own writes are never relayed.
      </p>
      <div className="row">
        <label className="check" htmlFor="relay-switch">
          Relay
        </label>
        <Switch.Root
          id="relay-switch"
          className="switch"
          checked={!!state?.enabled}
          aria-label="Clipboard relay"
          onCheckedChange={(on) => void set(on, state?.roomId ?? rooms[0]?.id)}
        >
          <Switch.Thumb className="switch-thumb" />
        </Switch.Root>
        <label className="field-inline">
          Room
          <select value={state?.roomId ?? ''} onChange={(e) => void set(!!state?.enabled, e.target.value)} aria-label="Room to relay into">
            <option value="" disabled>
              {rooms.length ? 'Choose a room' : 'No rooms: create one in Rooms'}
            </option>
            {rooms.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorLine error={error ?? state?.error ?? undefined} />
      {state && (
        <dl className="relay-stats">
          <div>
            <dt>Into</dt>
            <dd>{roomName(state.roomId)}</dd>
          </div>
          <div>
            <dt>Last relayed</dt>
            <dd>{relative(state.lastRelayedAt, now)}</dd>
          </div>
          <div>
            <dt>Posted / to clipboard</dt>
            <dd className="nums">
              {state.relayed} / {state.toClipboard}
            </dd>
          </div>
          <div>
            <dt>Skipped</dt>
            <dd>{skippedSummary(state.skipped)}</dd>
          </div>
        </dl>
      )}
      {undoable.length > 0 && (
        <ul className="undo-list" aria-label="Recent relays">
          {undoable.map((u) => (
            <li key={u.messageId}>
              <span className="preview">“{u.preview}”</span>
              <span className="small muted">{u.posted ? 'posted' : 'posting'}</span>
              <button type="button" onClick={() => void undo(u.messageId)}>
                Undo ({secondsLeft(u.until, now)} s)
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
