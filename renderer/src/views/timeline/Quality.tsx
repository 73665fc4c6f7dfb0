import { useState } from 'react';
import type { CameraId, MethodOutput } from '../../../../preload/contract';
import { cameraLabel, type CameraNames } from '../../stores/cameraNamesCore';
import { CalibrationForm } from './CalibrationForm';
import { fmt } from './format';

type Stats = MethodOutput<'timeline.stats'>;
type Cameras = MethodOutput<'timeline.cameras'>;

export function Quality(p: { stats: Stats | undefined; cameras: Cameras; names: CameraNames; fleetIds: readonly CameraId[]; onCalibrated: () => void }) {
  const per = new Map(p.stats?.perCamera.map((c) => [c.cameraId, c]) ?? []);
  const label = (id: string): string => cameraLabel(id, p.names);
  // By name, as the lanes above are (by id the rows read Demo 5, Demo 4, Demo 2…).
  const ids = [...new Set([...p.cameras.map((c) => c.cameraId), ...per.keys(), ...p.fleetIds])].sort((a, b) => label(a).localeCompare(label(b), undefined, { numeric: true }) || (a < b ? -1 : 1));
  const cal = new Map(p.cameras.map((c) => [c.cameraId, c]));
  const [editing, setEditing] = useState<CameraId>();
  return (
    <section aria-label="Prediction quality" className="timeline-card">
      <h2>Calibration and prediction quality</h2>
      <table className="table quality-table">
        <thead>
          <tr>
            <th scope="col">Camera</th>
            <th scope="col">Calibration</th>
            <th scope="col">RMS m</th>
            <th scope="col">ADE m</th>
            <th scope="col">FDE m</th>
            <th scope="col">n</th>
          </tr>
        </thead>
        <tbody>
          {ids.map((id) => (
            <tr key={id}>
              <td title={id}>
                <button type="button" className="link" aria-label={`Set reference points for ${label(id)}`} onClick={() => setEditing(editing === id ? undefined : id)}>
                  {label(id)}
                </button>
              </td>
              <td>{cal.get(id)?.source ?? 'none'}</td>
              <td>{fmt(cal.get(id)?.rmsErrorM, 3)}</td>
              <td>{fmt(per.get(id)?.ade)}</td>
              <td>{fmt(per.get(id)?.fde)}</td>
              <td>{per.get(id)?.n ?? 0}</td>
            </tr>
          ))}
          <tr className="overall">
            <td>Overall</td>
            <td>Brier {fmt(p.stats?.overall.brier, 3)}</td>
            <td />
            <td>{fmt(p.stats?.overall.ade)}</td>
            <td>{fmt(p.stats?.overall.fde)}</td>
            <td>{p.stats?.overall.n ?? 0}</td>
          </tr>
        </tbody>
      </table>
      {ids.length === 0 && <p className="muted">No camera yet: simulated cameras supply their calibration; for a real camera, choose it here and set four reference points.</p>}
      {editing && (
        <CalibrationForm
          key={editing}
          cameraId={editing}
          name={label(editing)}
          onDone={() => {
            setEditing(undefined);
            p.onCalibrated();
          }}
        />
      )}
    </section>
  );
}
