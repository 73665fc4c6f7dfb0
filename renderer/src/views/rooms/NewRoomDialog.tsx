import { useState, type FormEvent } from 'react';
import { quorumRules, type Room } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { DialogActions, Modal } from '../../components/Modal';
import { useAction } from '../../data/useAction';
import { transport } from '../../transport';

type Rule = (typeof quorumRules)[number];

export function NewRoomDialog({ open, onOpenChange, onCreated }: { open: boolean; onOpenChange: (o: boolean) => void; onCreated: (r: Room) => void }) {
  const [name, setName] = useState('');
  const [rule, setRule] = useState<Rule>('majority');
  const [veto, setVeto] = useState('');
  const create = useAction(async () => {
    const vetoRoles = veto
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const room = await transport().call('rooms.create', { name, defaultRule: rule, ...(vetoRoles.length ? { vetoRoles } : {}) });
    setName('');
    setVeto('');
    onCreated(room);
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void create.run();
  };
  return (
    <Modal open={open} onOpenChange={onOpenChange} title="New room" description="You own the room and join it as coordinator. Agents join when they first post with their token.">
      <form onSubmit={submit} className="dialog-form">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={80} required autoFocus placeholder="e.g. Release 2.4" />
        </label>
        <label>
          Default quorum rule
          <select value={rule} onChange={(e) => setRule(e.target.value as Rule)}>
            {quorumRules.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Roles that may veto <small className="muted">comma-separated, e.g. reviewer</small>
          <input value={veto} onChange={(e) => setVeto(e.target.value)} placeholder="none" />
        </label>
        <ErrorLine error={create.error} />
        <DialogActions>
          <button type="submit" className="primary" disabled={create.pending}>
            Create room
          </button>
        </DialogActions>
      </form>
    </Modal>
  );
}
