import { useEffect, useState } from 'react';
import type { CameraId } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { useAction } from '../../data/useAction';
import { useQuery } from '../../data/useQuery';
import { transport } from '../../transport';
import { calibrationPoints, type PointRow } from './model';


/** Four (or more) image↔ground reference points for a real camera: image in 0..1 of the frame, ground in metres. */
export function CalibrationForm(p: { cameraId: CameraId; name: string; onDone: () => void }) {
  const [rows, setRows] = useState<PointRow[]>(() => Array.from({ length: 4 }, () => ({ u: '', v: '', x: '', y: '' })));
  const current = useQuery('timeline.calibration', { cameraId: p.cameraId });
  useEffect(() => {
    const c = current.data;
    if (c && c.points.length >= 4) setRows(c.points.map((q) => ({ u: String(q.image.u), v: String(q.image.v), x: String(q.ground.x), y: String(q.ground.y) })));
  }, [current.data]);
  const saving = useAction(async (points: { image: { u: number; v: number }; ground: { x: number; y: number } }[]) => {
    await transport().call('timeline.calibration', { cameraId: p.cameraId, points });
    p.onDone();
  });
  const set = (i: number, k: keyof PointRow, v: string): void => setRows((r) => r.map((row, j) => (j === i ? { ...row, [k]: v } : row)));
  const save = (): void => {
    const checked = calibrationPoints(rows);
    if (typeof checked === 'string') return saving.fail(checked);
    void saving.run(checked);
  };
  return (
    <form
      className="calibration-form"
      aria-label={`Reference points for ${p.name}`}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <p className="muted">Pick four points on the ground you can see in the frame and measure on site (corners of markings work well), no three on one line.</p>
      {rows.map((r, i) => (
        <fieldset key={i}>
          <legend>Point {i + 1}</legend>
          {(['u', 'v', 'x', 'y'] as const).map((k) => (
            <label key={k}>
              {k === 'u' ? 'image u' : k === 'v' ? 'image v' : `ground ${k} (m)`}
              <input inputMode="decimal" value={r[k]} aria-label={`Point ${i + 1} ${k === 'u' || k === 'v' ? 'image' : 'ground'} ${k}`} onChange={(e) => set(i, k, e.target.value)} />
            </label>
          ))}
        </fieldset>
      ))}
      <ErrorLine error={saving.error ?? current.error} className="error" />
      <div className="zone-form-actions">
        <button type="submit" disabled={saving.pending}>
          Save calibration
        </button>
        <button type="button" onClick={() => setRows((r) => (r.length < 32 ? [...r, { u: '', v: '', x: '', y: '' }] : r))}>
          Add point
        </button>
        <button type="button" onClick={p.onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
