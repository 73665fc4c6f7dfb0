import { useState, type FormEvent } from 'react';
import type { Camera, PeerCertificate } from '../../../../preload/contract';
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
  // Adding: the HTTPS certificate is shown first, and the fingerprint the user saw is what gets pinned.
  const [httpsPort, setHttpsPort] = useState(String(camera?.httpsPort ?? 443));
  const [cert, setCert] = useState<PeerCertificate>();
  const save = useAction(async () => {
    if (camera) {
      await transport().call('fleet.update', {
        id: camera.id,
        ...(name.trim() && name.trim() !== camera.name ? { name: name.trim() } : {}),
        ...(address.trim() !== addressOf(camera) ? { address: address.trim() } : {}),
        ...(username !== camera.username ? { username } : {}),
        ...(password ? { password } : {}),
      });
    } else if (!cert) {
      setCert(await transport().call('fleet.certificate', { address: address.trim(), httpsPort: Number(httpsPort) || 443 }));
      return;
    } else {
      await transport().call('fleet.add', { address: address.trim(), username, password, httpsPort: Number(httpsPort) || 443, fingerprint: cert.fingerprint, ...(name.trim() ? { name: name.trim() } : {}) });
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
          <input value={address} onChange={(e) => (setAddress(e.target.value), setCert(undefined))} placeholder="192.168.0.90 or cam1.local:8080" required autoFocus />
        </label>
        {!editing && (
          <label>
            HTTPS port <small className="muted">(its signing key is read only over HTTPS)</small>
            <input inputMode="numeric" value={httpsPort} onChange={(e) => (setHttpsPort(e.target.value), setCert(undefined))} pattern="[0-9]{1,5}" required />
          </label>
        )}
        {cert && (
          <div className="camera-cert" role="group" aria-label="Camera certificate">
            <p className="small">
              {cert.caTrusted ? 'Signed by a CA you trust: ' : 'Compare this SHA-256 fingerprint with the one the camera shows (System → Security → Certificates) before you trust it: '}
              <code className="fingerprint">{cert.fingerprint}</code>
            </p>
            <p className="small muted">
              {cert.subject} · issued by {cert.issuer} · valid until {cert.validTo}
            </p>
          </div>
        )}
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
            {save.pending ? 'Checking the camera…' : editing ? 'Save' : cert ? (cert.caTrusted ? 'Add camera' : 'Trust this certificate and add') : 'Next: show its certificate'}
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
