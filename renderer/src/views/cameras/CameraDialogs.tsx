import { useState, type FormEvent } from 'react';
import type { Camera } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { ConfirmDialog, DialogActions, Modal } from '../../components/Modal';
import { useAction } from '../../data/useAction';
import { transport } from '../../transport';

const addressOf = (c: Camera): string => (c.port === 80 ? c.host : `${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}`);

/** Add (no camera) or edit (a camera) by address, user, password and name; fleet.add's message shows under the form. */
export function CameraFormDialog({ open, onOpenChange, camera }: { open: boolean; onOpenChange: (o: boolean) => void; camera?: Camera }) {
  const editing = !!camera;
  const [address, setAddress] = useState(camera ? addressOf(camera) : '');
  const [username, setUsername] = useState(camera?.username ?? 'root');
  const [password, setPassword] = useState('');
  const [name, setName] = useState(camera?.name ?? '');
  const save = useAction(async () => {
    if (camera) {
      await transport().call('fleet.update', {
        id: camera.id,
        ...(name.trim() && name.trim() !== camera.name ? { name: name.trim() } : {}),
        ...(address.trim() !== addressOf(camera) ? { address: address.trim() } : {}),
        ...(username !== camera.username ? { username } : {}),
        ...(password ? { password } : {}),
      });
    } else {
      await transport().call('fleet.add', { address: address.trim(), username, password, ...(name.trim() ? { name: name.trim() } : {}) });
    }
    setPassword('');
    onOpenChange(false);
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void save.run();
  };

  return (
    <Modal
      open={open}
      onOpenChange={onOpenChange}
      className="camera-form"
      title={editing ? `Edit ${camera.name}` : 'Add a camera'}
      descriptionClass="muted"
      description={
        editing
          ? 'A new address, user or password is checked with the camera before it is saved. Leave the password empty to keep it.'
          : 'The camera is probed over VAPIX with an administrator account; its model and serial fill in by themselves.'
      }
    >
      <form onSubmit={submit} className="camera-form-fields">
        <label>
          Address
          <input value={address} onChange={(e) => setAddress(e.target.value)} placeholder="192.168.0.90 or cam1.local:8080" required autoFocus />
        </label>
        <label>
          User name
          <input value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" required />
        </label>
        <label>
          Password
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
        </label>
        <label>
          Display name <small className="muted">(optional)</small>
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
        </label>
        <ErrorLine error={save.error} className="error camera-form-error" />
        <DialogActions>
          <button type="submit" className="primary" disabled={save.pending}>
            {save.pending ? 'Checking the camera…' : editing ? 'Save' : 'Add camera'}
          </button>
        </DialogActions>
      </form>
    </Modal>
  );
}

export function RemoveCameraDialog({ camera, onOpenChange }: { camera: Camera | undefined; onOpenChange: (o: boolean) => void }) {
  const remove = useAction(async (c: Camera) => {
    await transport().call('fleet.remove', { id: c.id });
    onOpenChange(false);
  });
  return (
    <ConfirmDialog
      open={!!camera}
      onOpenChange={onOpenChange}
      title={`Remove ${camera?.name ?? ''}?`}
      description="OmniSight forgets this camera and deletes its stored password. The camera itself is not changed; you can add it again later."
      confirmLabel="Remove camera"
      danger
      pending={remove.pending}
      error={remove.error}
      onConfirm={() => camera && void remove.run(camera)}
    />
  );
}
