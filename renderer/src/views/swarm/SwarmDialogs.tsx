import { useEffect, useState } from 'react';
import type { MethodOutput } from '../../../../preload/contract';
import { ConfirmDialog } from '../../components/Modal';
import { useAction } from '../../data/useAction';
import { transport } from '../../transport';

type Zones = MethodOutput<'swarm.zones'>['zones'];

/** Release a quarantined camera, with a note, after the operator has looked at the proof. */
export function ReleaseDialog(p: { camera: string | undefined; name: string; reason: string | undefined; onClose: () => void; onReleased: () => void }) {
  const [note, setNote] = useState('');
  const release = useAction(async (camera: string) => {
    await transport().call('swarm.release', { camera, ...(note ? { note } : {}) });
    setNote('');
    p.onClose();
    p.onReleased();
  });
  return (
    <ConfirmDialog
      open={!!p.camera}
      onOpenChange={(o) => !o && p.onClose()}
      title={`Release ${p.name}?`}
      description={`Its reports will count again. Release only after you have looked at the proof (${p.reason ?? 'see the list'}) and fixed the cause, e.g. redeployed the app.`}
      confirmLabel="Release camera"
      pending={release.pending}
      error={release.error}
      onConfirm={() => p.camera && void release.run(p.camera)}
    >
      <label className="stack">
        Note (optional)
        <textarea value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} />
      </label>
    </ConfirmDialog>
  );
}

/** The site's zones as JSON, checked before it is sent. */
export function ZonesDialog(p: { open: boolean; zones: Zones; onClose: () => void; onSaved: () => void }) {
  const [text, setText] = useState('');
  const save = useAction(async () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`The zones are not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    await transport().call('swarm.setZones', { zones: parsed as never });
    p.onClose();
    p.onSaved();
  });
  const { clear } = save;
  useEffect(() => {
    if (p.open) {
      setText(JSON.stringify(p.zones, null, 2));
      clear();
    }
    // Only when the dialog opens: edits in progress are not replaced by a zones event.
  }, [p.open]);
  return (
    <ConfirmDialog
      open={p.open}
      onOpenChange={(o) => !o && p.onClose()}
      title="Site zones"
      description={"Each zone: an id, a name, a ground polygon in metres ({x, y} points) and, for cameras without a ground calibration, the serials that cover it."}
      confirmLabel="Save zones"
      pending={save.pending}
      error={save.error}
      onConfirm={() => void save.run()}
      wide
    >
      <label className="stack">
        Zones (JSON)
        <textarea className="mono" rows={14} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />
      </label>
    </ConfirmDialog>
  );
}
