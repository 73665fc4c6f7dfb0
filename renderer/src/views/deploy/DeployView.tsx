import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Camera, CameraId, Deploy, DeployBuild, DeployTarget, FederatedModel, PreflightRow } from '../../../../preload/contract';
import { errorText, transport } from '../../transport';
import { ConfirmDialog } from '../../components/Modal';
import { deployBlocker, deployPlan, stagesText } from './plan';
import { filterCameras, zoneOptions, type ZoneOption } from './zoneFilter';
import './deploy.css';

type Installed = { version: string | null; status: string | null; error: string | null };
const kb = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`);
const time = (ts: number): string => new Date(ts).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });

/** What a person reads at the end of a camera's row. */
function outcomeText(t: DeployTarget): string {
  if (t.outcome === 'verified') return t.message.startsWith('running ') ? t.message : `running ${t.finalVersion} (verified)`;
  if (t.outcome === 'skipped') return `skipped: ${t.message}`;
  if (t.outcome === 'rolled_back') return t.finalVersion ? `rolled back to ${t.finalVersion}: ${t.message.replace(/^rolled back to \S+ \(verified\): /, '')}` : t.message;
  if (t.outcome === 'pending') return t.message;
  return `${t.outcome.replace('_', ' ')}: ${t.message}`;
}

export function DeployView() {
  const [builds, setBuilds] = useState<DeployBuild[]>([]);
  const [nativeDir, setNativeDir] = useState<string | null>(null);
  const [buildSha, setBuildSha] = useState('');
  const [filePath, setFilePath] = useState('');
  const [building, setBuilding] = useState(false);
  const [buildLog, setBuildLog] = useState<string[]>([]);
  const [cameras, setCameras] = useState<Camera[]>([]);
  const [installed, setInstalled] = useState<Record<string, Installed>>({});
  const [selected, setSelected] = useState<Set<CameraId>>(new Set());
  const [filter, setFilter] = useState('');
  const [zone, setZone] = useState('');
  const [zones, setZones] = useState<ZoneOption[]>([]);
  // Both off by default: AllowUnsigned is switched, and a downgrade made, only when asked for in this deploy.
  const [allowUnsigned, setAllowUnsigned] = useState(false);
  const [allowDowngrade, setAllowDowngrade] = useState(false);
  const [canary, setCanary] = useState(1);
  const [confirming, setConfirming] = useState(false);
  // Federated model versions that can ship with the build; '' = none.
  const [models, setModels] = useState<FederatedModel[]>([]);
  const [modelVersion, setModelVersion] = useState('');
  const [preflight, setPreflight] = useState<PreflightRow[]>();
  const [checking, setChecking] = useState(false);
  const [current, setCurrent] = useState<Deploy>();
  const progressHeading = useRef<HTMLHeadingElement>(null);
  const [history, setHistory] = useState<Deploy[]>([]);
  const [detail, setDetail] = useState<string>();
  const [error, setError] = useState<string>();
  // Errors show where the action was: under the build controls, or under preflight and deploy.
  const [buildError, setBuildError] = useState<string>();
  const [stepError, setStepError] = useState<string>();
  const buildId = useRef('');

  const loadBuilds = useCallback(async () => {
    const r = await transport().call('deploy.builds', {});
    setBuilds(r.builds);
    setNativeDir(r.nativeDir);
    setBuildSha((s) => s || r.builds.find((b) => b.problems.length === 0 && !b.fileName.startsWith('crash-at-start/'))?.sha256 || '');
  }, []);
  const loadModels = useCallback(async () => {
    // Optional: an installation without federated models still deploys.
    const r = await transport().call('federated.models', { limit: 50 }).catch(() => ({ models: [] as FederatedModel[] }));
    setModels(r.models);
  }, []);
  const loadHistory = useCallback(async () => setHistory((await transport().call('deploy.history', { limit: 30 })).deploys), []);
  const loadCameras = useCallback(async () => {
    const list = (await transport().call('fleet.list', {})).cameras.filter((c) => !c.demo || c.demoActive);
    setCameras(list);
    const inst = await transport().call('deploy.installed', { cameraIds: list.map((c) => c.id) });
    setInstalled(Object.fromEntries(inst.cameras.map((c) => [c.cameraId, c])));
  }, []);

  // Which zones each camera covers, from the swarm; without it the zone select is just empty.
  const loadZones = useCallback(async () => {
    const [status, config] = await Promise.all([transport().call('swarm.status', {}), transport().call('swarm.zones', {})]);
    setZones(zoneOptions(status.zones, config.zones));
  }, []);

  useEffect(() => {
    Promise.all([loadBuilds(), loadHistory(), loadCameras()]).catch((e: unknown) => setError(errorText(e)));
    loadZones().catch(() => setZones([]));
    void loadModels();
    const offs = [
      transport().on('deploy.progress', ({ deployId, target }) =>
        setCurrent((d) => (d && d.id === deployId ? { ...d, targets: d.targets.map((t) => (t.cameraId === target.cameraId ? target : t)) } : d)),
      ),
      transport().on('deploy.changed', ({ deployId, status }) => {
        setCurrent((d) => (d && d.id === deployId ? { ...d, status } : d));
        if (status !== 'running') {
          // The finished deploy as stored: why it stopped, and every camera's last word.
          transport()
            .call('deploy.get', { deployId })
            .then((full) => setCurrent((d) => (d && d.id === deployId ? full : d)))
            .catch((e: unknown) => setError(errorText(e)));
          void loadHistory();
          void loadCameras().catch(() => undefined);
        }
      }),
      transport().on('deploy.buildLog', ({ buildId: id, line }) => {
        if (id === buildId.current) setBuildLog((l) => [...l.slice(-30), line]);
      }),
      transport().on('fleet.changed', () => {
        void loadCameras().catch(() => undefined);
        void loadZones().catch(() => undefined);
      }),
      transport().on('swarm.zones', () => void loadZones().catch(() => undefined)),
    ];
    return () => offs.forEach((off) => off());
  }, [loadBuilds, loadHistory, loadCameras, loadZones, loadModels]);

  // A deploy just started (or retried): its progress is far below the build and camera steps on a
  // small window, so bring it into view and put the focus there (after the dialog has given focus back).
  const currentId = current?.id;
  useEffect(() => {
    if (!currentId) return;
    const h = progressHeading.current;
    if (!h) return;
    const reduce = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    h.focus({ preventScroll: true });
    h.scrollIntoView({ block: 'start', behavior: reduce ? 'auto' : 'smooth' });
  }, [currentId]);

  const build = builds.find((b) => b.sha256 === buildSha);
  const blocker = deployBlocker({ build: !!build, selected: selected.size, checking, checked: preflight, running: current?.status === 'running' });
  const shown = useMemo(() => filterCameras(cameras, filter, zone, zones), [cameras, filter, zone, zones]);

  const toggle = (id: CameraId): void => {
    setPreflight(undefined);
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  };

  const runBuild = async (): Promise<void> => {
    buildId.current = `b${Date.now()}`;
    setBuilding(true);
    setBuildLog([]);
    setBuildError(undefined);
    try {
      const r = await transport().call('deploy.buildNative', { buildId: buildId.current });
      setBuildLog((l) => [...l, `built in ${(r.buildMs / 1000).toFixed(1)} s`]);
      await loadBuilds();
      setBuildSha(r.build.sha256);
    } catch (e) {
      setBuildError(errorText(e));
    } finally {
      setBuilding(false);
    }
  };

  const addFile = async (): Promise<void> => {
    try {
      const b = await transport().call('deploy.addBuild', { path: filePath.trim() });
      await loadBuilds();
      setBuildSha(b.sha256);
      setFilePath('');
      setBuildError(undefined);
    } catch (e) {
      setBuildError(errorText(e));
    }
  };

  const check = async (): Promise<void> => {
    if (!build) return;
    setChecking(true);
    setStepError(undefined);
    try {
      setPreflight((await transport().call('deploy.preflight', { buildSha: build.sha256, cameraIds: [...selected], allowUnsigned, allowDowngrade })).rows);
    } catch (e) {
      setStepError(errorText(e));
    } finally {
      setChecking(false);
    }
  };

  const start = async (): Promise<void> => {
    if (!build || !preflight) return;
    const ids = preflight.filter((r) => r.ok).map((r) => r.cameraId);
    try {
      const model = modelVersion ? { modelVersion: Number(modelVersion) } : {};
      const { deployId } = await transport().call('deploy.start', { buildSha: build.sha256, cameraIds: ids, allowUnsigned, allowDowngrade, canary, ...model });
      setConfirming(false);
      setCurrent(await transport().call('deploy.get', { deployId }));
      setPreflight(undefined);
    } catch (e) {
      setStepError(errorText(e));
      setConfirming(false);
    }
  };
  const plan = build && preflight ? deployPlan(build, preflight, { allowUnsigned, allowDowngrade, canary, modelVersion: modelVersion ? Number(modelVersion) : null }) : undefined;

  const retry = async (deployId: string): Promise<void> => {
    try {
      const r = await transport().call('deploy.retry', { deployId });
      setCurrent(await transport().call('deploy.get', { deployId: r.deployId }));
    } catch (e) {
      setError(errorText(e));
    }
  };

  const blocked = preflight?.filter((r) => !r.ok).length ?? 0;
  return (
    <section className="view deploy">
      <header className="view-header">
        <h1>Deploy</h1>
        <p className="muted">Pick a build and cameras, check them, deploy. Each camera ends running the new version (verified) or rolled back to what it ran, with the reason.</p>
      </header>
      {error && (
        <p className="deploy-error" role="alert">
          {error}
        </p>
      )}

      <div className="deploy-grid">
        <section className="panel" aria-labelledby="deploy-builds">
          <h2 id="deploy-builds">1. Build</h2>
          <label className="field">
            <span>Build</span>
            <select aria-label="Build" value={buildSha} onChange={(e) => (setBuildSha(e.target.value), setPreflight(undefined))}>
              <option value="">Choose a build…</option>
              {builds.map((b) => (
                <option key={b.sha256} value={b.sha256} disabled={b.problems.length > 0}>
                  {b.fileName} — {b.appName} {b.version} ({b.architecture}, {kb(b.bytes)}){b.problems.length ? ' — invalid' : ''}
                </option>
              ))}
            </select>
          </label>
          {builds.length === 0 && <p className="muted">No builds yet: build from native/ or add an .eap file.</p>}
          <div className="row">
            <button type="button" onClick={() => void runBuild()} disabled={building || !nativeDir} title={nativeDir ? `make in ${nativeDir}` : 'No native/ folder in this installation'}>
              {building ? 'Building…' : 'Build from native/'}
            </button>
            <input aria-label="Path of an .eap file" placeholder="/path/to/app.eap" value={filePath} onChange={(e) => setFilePath(e.target.value)} />
            <button type="button" onClick={() => void addFile()} disabled={!filePath.trim()}>
              Add file
            </button>
          </div>
          {buildError && (
            <p className="deploy-error" role="alert">
              {buildError}
            </p>
          )}
          {buildLog.length > 0 && (
            <pre className="build-log" aria-label="Build log">
              {buildLog.join('\n')}
            </pre>
          )}
        </section>

        <section className="panel" aria-labelledby="deploy-cameras">
          <h2 id="deploy-cameras">2. Cameras</h2>
          <div className="row">
            <input aria-label="Filter cameras" placeholder="Filter cameras" title="Matches name, model, firmware and SoC" value={filter} onChange={(e) => setFilter(e.target.value)} />
            <select aria-label="Filter by zone" value={zone} onChange={(e) => setZone(e.target.value)}>
              <option value="">All zones</option>
              {zones.map((z) => (
                <option key={z.id} value={z.id}>
                  {z.name} ({z.serials.length})
                </option>
              ))}
            </select>
            <button type="button" onClick={() => (setSelected(new Set(shown.map((c) => c.id))), setPreflight(undefined))}>
              Select shown
            </button>
            <button type="button" onClick={() => (setSelected(new Set()), setPreflight(undefined))}>
              Clear
            </button>
          </div>
          <table className="deploy-table">
            <thead>
              <tr>
                <th scope="col">Deploy</th>
                <th scope="col">Camera</th>
                <th scope="col">Model</th>
                <th scope="col">Firmware</th>
                <th scope="col">Installed</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((c) => {
                const i = installed[c.id];
                return (
                  <tr key={c.id}>
                    <td>
                      <input type="checkbox" aria-label={`Select ${c.name}`} checked={selected.has(c.id)} onChange={() => toggle(c.id)} />
                    </td>
                    <td>{c.name}</td>
                    <td>{c.model}</td>
                    <td>{c.firmware}</td>
                    <td>{i ? (i.error ? <span className="bad">unreachable</span> : i.version ? `${i.version} (${i.status})` : 'none') : '…'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {cameras.length === 0 && <p className="muted">No cameras: add one in Cameras, or switch the demo fleet on in Settings.</p>}
        </section>
      </div>

      <section className="panel" aria-labelledby="deploy-preflight">
        <h2 id="deploy-preflight">3. Preflight</h2>
        <div className="row">
          <label className="check" title="AXIS OS 12 refuses apps not signed by Axis unless AllowUnsigned is on; AXIS OS 13 removes the setting. Builds made here are not signed.">
            <input type="checkbox" checked={allowUnsigned} onChange={(e) => (setAllowUnsigned(e.target.checked), setPreflight(undefined))} /> Switch AllowUnsigned on for this deploy (builds made here are not signed by Axis)
          </label>
          <label className="check">
            <input type="checkbox" checked={allowDowngrade} onChange={(e) => (setAllowDowngrade(e.target.checked), setPreflight(undefined))} /> Allow downgrade
          </label>
          <label>
            Canary cameras{' '}
            <input type="number" className="canary" aria-label="Canary cameras" min={0} max={256} value={canary} onChange={(e) => setCanary(Math.max(0, Math.min(256, Math.floor(Number(e.target.value) || 0))))} />
          </label>
          <label>
            Federated model{' '}
            <select aria-label="Federated model" value={modelVersion} onFocus={() => void loadModels()} onChange={(e) => setModelVersion(e.target.value)}>
              <option value="">none</option>
              {models.map((m) => (
                <option key={m.version} value={String(m.version)}>
                  v{m.version} · round {m.round} · {m.aggregation} · {m.accuracy === null ? 'accuracy not reported yet' : `accuracy ${(m.accuracy * 100).toFixed(1)}%`}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => void check()} disabled={!build || selected.size === 0 || checking}>
            {checking ? 'Checking…' : `Check ${selected.size} camera(s)`}
          </button>
          <button type="button" className="primary" onClick={() => setConfirming(true)} disabled={blocker !== undefined} aria-describedby="deploy-blocker">
            Deploy{preflight ? ` to ${preflight.length - blocked}` : ''}
          </button>
          <span id="deploy-blocker" className="muted deploy-blocker" role="status">
            {blocker}
          </span>
        </div>
        {plan && (
          <p className="muted" aria-label="Stages">
            {stagesText(plan.stages)}
          </p>
        )}
        {plan && (
          <ConfirmDialog
            open={confirming}
            onOpenChange={setConfirming}
            wide
            title={`Deploy ${plan.build} to ${plan.cameras.length} camera(s)?`}
            description={plan.summary}
            confirmLabel={`Deploy to ${plan.cameras.length}`}
            onConfirm={() => void start()}
            error={stepError}
          >
            <ul className="deploy-plan" aria-label="What changes">
              {plan.cameras.map((c) => (
                <li key={c.cameraId} className={c.downgrade ? 'bad' : ''}>
                  {c.text}
                </li>
              ))}
            </ul>
            <p className="small">{stagesText(plan.stages)}</p>
            {plan.unsigned.length > 0 && <p className="small warn">AllowUnsigned is switched on, as you asked, on: {plan.unsigned.join(', ')}.</p>}
            {plan.skipped.length > 0 && <p className="small muted">Not deployed (blocked in the preflight): {plan.skipped.join(', ')}.</p>}
            <p className="small muted">A camera counts as verified only when the swarm accepts signed reports from {plan.version} under its enrolled key and a fresh epoch; otherwise it is rolled back and that is checked the same way.</p>
          </ConfirmDialog>
        )}
        {stepError && (
          <p className="deploy-error" role="alert">
            {stepError}
          </p>
        )}
        {preflight && (
          <table className="deploy-table" aria-label="Preflight">
            <thead>
              <tr>
                <th scope="col">Camera</th>
                <th scope="col">Reachable</th>
                <th scope="col">Role</th>
                <th scope="col">Arch / SoC</th>
                <th scope="col">Unsigned apps</th>
                <th scope="col">Installed</th>
                <th scope="col">Free</th>
                <th scope="col">Verdict</th>
              </tr>
            </thead>
            <tbody>
              {preflight.map((r) => (
                <tr key={r.cameraId} className={r.ok ? '' : 'blocked'}>
                  <td>{r.name}</td>
                  <td>{r.reachable ? 'yes' : 'no'}</td>
                  <td>{r.role === 'too_low' ? 'too low' : r.role}</td>
                  <td className={r.archOk && r.socOk ? '' : 'bad'}>
                    {r.architecture || '?'} / {r.soc || '?'}
                  </td>
                  <td title={r.refusesUnsigned ?? undefined}>{r.allowUnsigned === null ? 'accepted (no AllowUnsigned setting)' : r.allowUnsigned ? 'accepted (AllowUnsigned on)' : 'refused (AllowUnsigned off)'}</td>
                  <td className={r.downgrade ? 'bad' : ''}>
                    {r.installedVersion ? `${r.installedVersion} (${r.installedStatus})` : 'none'}
                    {r.downgrade ? ' — downgrade' : ''}
                  </td>
                  <td>{r.freeBytes === null ? 'unknown' : kb(r.freeBytes)}</td>
                  <td>{r.ok ? ['ready', ...r.notes].join(' · ') : r.blockers.join(' · ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {current && (
        <section className="panel" aria-labelledby="deploy-progress">
          <h2 id="deploy-progress" ref={progressHeading} tabIndex={-1}>
            4. Deploying {current.fileName} ({current.version}){current.modelVersion !== null ? ` with model v${current.modelVersion}` : ''} — {current.status}
          </h2>
          {current.stages && <p className="muted">{stagesText(current.stages)}</p>}
          {current.stopped && (
            <p className="deploy-error" role="status">
              Stopped at the first failure: {current.stopped}
            </p>
          )}
          <div className="row">
            <button type="button" onClick={() => void transport().call('deploy.cancel', { deployId: current.id })} disabled={current.status !== 'running'}>
              Cancel
            </button>
            <button type="button" onClick={() => void retry(current.id)} disabled={current.status === 'running' || current.targets.every((t) => t.outcome === 'verified')}>
              Retry failed
            </button>
          </div>
          <ul className="deploy-progress">
            {current.targets.map((t) => (
              <li key={t.cameraId} className={`outcome-${t.outcome}`} aria-label={`${t.cameraName} progress`}>
                <span className="cam">
                  {t.cameraName}
                  {current.stages && current.stages.length > 1 && t.stage === 0 ? ' (canary)' : ''}
                </span>
                <span className="phase">{t.phase}</span>
                <progress
                  aria-label={`${t.cameraName} upload`}
                  max={Math.max(1, t.bytesTotal)}
                  value={t.phase === 'done' || ['start', 'verify'].includes(t.phase) ? Math.max(1, t.bytesTotal) : t.bytesSent}
                />
                <span className="bytes">
                  {kb(t.bytesSent)} / {kb(t.bytesTotal)}
                </span>
                <span className="msg">{outcomeText(t)}</span>
              </li>
            ))}
          </ul>
        </section>
      )}

      <section className="panel" aria-labelledby="deploy-history">
        <h2 id="deploy-history">History</h2>
        {history.length === 0 && <p className="muted">No deploys yet.</p>}
        <ul className="deploy-history">
          {history.map((d) => {
            const n = (o: string) => d.targets.filter((t) => t.outcome === o).length;
            return (
              <li key={d.id}>
                <button type="button" className="link" aria-expanded={detail === d.id} onClick={() => setDetail(detail === d.id ? undefined : d.id)}>
                  {time(d.createdAt)} · {d.fileName} ({d.version}){d.modelVersion !== null ? ` · model v${d.modelVersion}` : ''} · {d.status} · {n('verified')} verified, {n('rolled_back')} rolled back{n('failed') ? `, ${n('failed')} failed` : ''}{n('skipped') ? `, ${n('skipped')} skipped` : ''}{d.stopped ? ' · stopped at the first failure' : ''} · by {d.user}
                </button>
                {d.approval && (
                  <span className="deploy-approval" title={`Started by decision #${d.approval.decisionId} on proposal #${d.approval.proposalId}`}>
                    approved in room {d.approval.roomName}, decision #{d.approval.decisionId}
                  </span>
                )}
                {d.status === 'interrupted' && (
                  <button type="button" onClick={() => void retry(d.id)}>
                    Resume
                  </button>
                )}
                {detail === d.id && (
                  <ul className="deploy-detail">
                    {d.targets.map((t) => (
                      <li key={t.cameraId}>
                        {t.cameraName}: {outcomeText(t)} (was {t.previousVersion ?? 'none'})
                      </li>
                    ))}
                  </ul>
                )}
              </li>
            );
          })}
        </ul>
      </section>
    </section>
  );
}
