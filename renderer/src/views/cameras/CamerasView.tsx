import * as Menu from '@radix-ui/react-dropdown-menu';
import * as Tooltip from '@radix-ui/react-tooltip';
import { ArrowLeft, Layers, Pencil, Plus, Trash2 } from 'lucide-react';
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Camera, CameraStatus } from '../../../../preload/contract';
import { transport } from '../../transport';
import { useApp } from '../../stores/app';
import { useNav } from '../../stores/nav';
import { CameraFormDialog, RemoveCameraDialog } from './CameraDialogs';
import { CameraCertificate } from './CameraCertificate';
import { clock, feedSizeFor, LAYOUTS, pageOf, type FeedSize, type Layout } from './feedCore';
import { FeedEngine } from './feedEngine';
import { subscribeFleet, useFleet } from './fleetStore';
import { DEFAULT_OVERLAY, OVERLAY_NAMES, type Overlay } from './overlayCore';
import './cameras.css';

// "Demo 2" before "Demo 10".
const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
const STATE_LABEL: Record<CameraStatus['state'], string> = { online: 'Online', stalled: 'Stalled', offline: 'Offline', connecting: 'Connecting', unknown: 'Waiting' };

function placeholder(s: CameraStatus | undefined, camera: Camera, connected: boolean): string | undefined {
  // The page cannot know a camera's state while the server is gone: say that, not "Online".
  if (!connected) return 'No connection to OmniSight: the last frame is kept until it is back';
  if (camera.demo && !camera.demoActive) return 'Simulated fleet is off (turn it on in Settings)';
  if (!s) return 'Waiting for the camera…';
  if (s.state === 'stalled') return `Stalled since ${clock(s.since)}: the camera stopped sending frames`;
  if (s.state === 'offline') return `Offline since ${clock(s.since)}${s.lastError ? `: ${s.lastError}` : ''}`;
  if (s.state === 'connecting') return 'Connecting…';
  if (s.state === 'unknown') return 'Waiting for the first frame…';
  return undefined;
}

function BadInput({ s }: { s: CameraStatus | undefined }) {
  if (!s) return null;
  const { frames, mqtt, vapix } = s.badInput;
  const total = frames + mqtt + vapix;
  const detail = `Malformed MJPEG parts / truncated JPEGs: ${frames}. MQTT payloads that failed validation: ${mqtt}. Unreadable VAPIX replies: ${vapix}.`;
  return (
    <Tooltip.Root>
      <Tooltip.Trigger asChild>
        <button type="button" className={`tile-bad ${total ? 'has-bad' : ''}`} aria-label={`Bad input: ${total}. ${detail}`}>
          {total ? `${total} bad input` : 'details'}
        </button>
      </Tooltip.Trigger>
      <Tooltip.Portal>
        <Tooltip.Content className="tooltip tile-details" sideOffset={4}>
          <dl>
            <dt>MJPEG / JPEG</dt>
            <dd>{frames}</dd>
            <dt>MQTT payloads</dt>
            <dd>{mqtt}</dd>
            <dt>VAPIX replies</dt>
            <dd>{vapix}</dd>
            <dt>Camera fps</dt>
            <dd>{s.fpsCamera ?? '–'}</dd>
            <dt>Received fps</dt>
            <dd>{s.fps}</dd>
          </dl>
          {s.lastError && <p className="muted">{s.lastError}</p>}
          {s.quarantined && (
            <p className="tile-quarantine-detail">
              Quarantined by the swarm since {clock(s.quarantined.since)}: {s.quarantined.reason}. Its reports do not count; release it in the Swarm view.
            </p>
          )}
        </Tooltip.Content>
      </Tooltip.Portal>
    </Tooltip.Root>
  );
}

/** The switches for what is drawn over one camera's feed. */
function OverlayMenu({ camera }: { camera: Camera }) {
  const overlay = useFleet((s) => s.prefs.overlays[camera.id]) ?? DEFAULT_OVERLAY;
  const setPrefs = useFleet((s) => s.setPrefs);
  const set = (k: keyof Overlay, v: boolean): void => {
    const all = useFleet.getState().prefs.overlays;
    setPrefs({ overlays: { ...all, [camera.id]: { ...overlay, [k]: v } } });
  };
  return (
    <Menu.Root>
      <Menu.Trigger asChild>
        <button type="button" className="tile-overlay-btn" aria-label={`Overlay on ${camera.name}`}>
          <Layers size={12} aria-hidden="true" />
        </button>
      </Menu.Trigger>
      <Menu.Portal>
        <Menu.Content className="menu" sideOffset={4} align="end">
          <Menu.Label className="menu-label">Draw over {camera.name}</Menu.Label>
          {(Object.keys(OVERLAY_NAMES) as (keyof Overlay)[]).map((k) => (
            <Menu.CheckboxItem key={k} className="menu-item" checked={overlay[k]} onCheckedChange={(v) => set(k, v)} onSelect={(e) => e.preventDefault()}>
              <Menu.ItemIndicator className="menu-check">✓</Menu.ItemIndicator>
              {OVERLAY_NAMES[k]}
            </Menu.CheckboxItem>
          ))}
        </Menu.Content>
      </Menu.Portal>
    </Menu.Root>
  );
}

// Memoised: a status batch re-renders only the tiles whose camera changed (props are kept stable:
// the size object per layout, onOpen taking the camera id).
const Tile = memo(function Tile({
  camera,
  status,
  engine,
  size,
  onOpen,
  large,
}: {
  camera: Camera;
  status: CameraStatus | undefined;
  engine: FeedEngine;
  size: FeedSize;
  onOpen: (cameraId: string) => void;
  large?: boolean;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const fps = useRef<HTMLSpanElement>(null);
  const box = useRef<HTMLElement>(null);
  const sizeKey = `${size.width}x${size.height}@${size.fps}`;

  useEffect(() => {
    const c = canvas.current;
    const el = box.current;
    if (!c || !el) return;
    engine.attach(camera.id, c, size, fps.current ?? undefined);
    // Off-screen tiles stop streaming.
    const io = new IntersectionObserver((entries) => engine.setVisible(camera.id, entries.some((e) => e.isIntersecting)), { threshold: 0.01 });
    io.observe(el);
    return () => {
      io.disconnect();
      engine.detach(camera.id, c);
    };
    // `size` is a fresh object each render; its key says when it really changed.
  }, [engine, camera.id, sizeKey]);

  useEffect(() => engine.setCameraFps(camera.id, status?.fpsCamera ?? null), [engine, camera.id, status?.fpsCamera]);
  const overlay = useFleet((s) => s.prefs.overlays[camera.id]) ?? DEFAULT_OVERLAY;
  useEffect(() => engine.setOverlay(camera.id, overlay), [engine, camera.id, overlay]);

  const go = useNav((s) => s.go);
  const connected = useApp((s) => s.connection.status === 'open');
  const state = !connected ? 'unknown' : camera.demo && !camera.demoActive ? 'offline' : (status?.state ?? 'unknown');
  const cover = placeholder(status, camera, connected);
  const q = status?.quarantined;
  return (
    <article ref={box} className={`tile ${large ? 'tile-large' : ''}`} data-state={state} data-quarantined={q ? 'true' : undefined} aria-label={camera.name} data-camera={camera.id}>
      <button type="button" className="tile-view" aria-label={large ? `${camera.name} (focused)` : `Focus ${camera.name}`} onClick={() => onOpen(camera.id)}>
        <canvas ref={canvas} className="tile-canvas" aria-hidden="true" />
        {cover && (
          <span className={`tile-cover${connected ? '' : ' tile-cover-banner'}`} role="status">
            {cover}
          </span>
        )}
      </button>
      <header className="tile-top media-overlay">
        <span className="tile-name" title={camera.name}>
          {camera.name}
        </span>
        {camera.demo && <span className="badge tile-demo">Simulated</span>}
        {q && (
          <button
            type="button"
            className="badge tile-quarantined"
            title={`Quarantined since ${clock(q.since)}: ${q.reason}`}
            aria-label={`Quarantined since ${clock(q.since)}: ${q.reason}. Open the Swarm view to review the proof and release it`}
            onClick={() => go('swarm')}
          >
            Quarantined
          </button>
        )}
        <span className={`badge tile-state state-${state}`}>{connected ? STATE_LABEL[state] : 'No connection'}</span>
      </header>
      <footer className="tile-bottom media-overlay">
        <span ref={fps} className="tile-fps" aria-label="Painted frames per second">
          0.0 fps
        </span>
        <span className="tile-inf" title="On-camera inference time (from heartbeats)">
          {status?.inferenceMs != null ? `inference ${status.inferenceMs.toFixed(1)} ms` : 'inference –'}
        </span>
        <BadInput s={status} />
        <OverlayMenu camera={camera} />
      </footer>
    </article>
  );
});

function ManagePanel({ cameras, onEdit, onRemove }: { cameras: Camera[]; onEdit: (c: Camera) => void; onRemove: (c: Camera) => void }) {
  // The table sits under the grid, below the fold: bring it into view when it opens, or the
  // button looks as if it did nothing.
  const ref = useRef<HTMLTableElement>(null);
  useEffect(() => {
    // Braces matter: recent Chromium returns a Promise from scrollIntoView, and an effect must
    // return nothing or a cleanup function.
    ref.current?.scrollIntoView?.({ block: 'start', behavior: 'smooth' });
  }, []);
  return (
    <table ref={ref} className="table camera-table" aria-label="Registered cameras">
      <thead>
        <tr>
          <th>Name</th>
          <th>Address</th>
          <th>Model</th>
          <th>Serial</th>
          <th>Firmware</th>
          <th>Signing key / certificate</th>
          <th>
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {cameras.map((c) => (
          <tr key={c.id}>
            <td>
              {c.name} {c.demo && <span className="badge tile-demo">{c.demoActive ? 'Simulated' : 'Simulated (off)'}</span>}
            </td>
            <td>
              {c.host}:{c.port}
            </td>
            <td>
              {c.model} <span className="muted">{c.soc}</span>
            </td>
            <td>
              <code>{c.serial}</code>
            </td>
            <td>{c.firmware}</td>
            <td>
              <CameraCertificate camera={c} />
            </td>
            <td className="nowrap">
              <button type="button" className="ghost" aria-label={`Edit ${c.name}`} onClick={() => onEdit(c)}>
                <Pencil size={14} aria-hidden="true" />
              </button>
              <button type="button" className="ghost" aria-label={`Remove ${c.name}`} onClick={() => onRemove(c)}>
                <Trash2 size={14} aria-hidden="true" />
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function CamerasView() {
  const { cameras, statuses, error, prefs, load, setPrefs } = useFleet();
  const go = useNav((s) => s.go);
  const [engine] = useState(() => new FeedEngine(transport()));
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<Camera>();
  const [removing, setRemoving] = useState<Camera>();
  const [managing, setManaging] = useState(false);

  useEffect(() => {
    subscribeFleet();
    void load();
  }, [load]);
  useEffect(() => {
    // A read-only hook for the e2e scenarios and the feed benchmark.
    (window as unknown as { __omnisightFeeds?: FeedEngine }).__omnisightFeeds = engine;
    return () => engine.close();
  }, [engine]);

  const focused = prefs.focus ? cameras?.find((c) => c.id === prefs.focus) : undefined;
  // Stable across renders, so memoised tiles are not re-rendered by a new object or closure.
  const gridSize = useMemo(() => feedSizeFor(prefs.layout, false, prefs.quality), [prefs.layout, prefs.quality]);
  const focusSize = useMemo(() => feedSizeFor(1, true), []);
  const focusOn = useCallback((id: string) => setPrefs({ focus: id }), [setPrefs]);
  const unfocus = useCallback(() => setPrefs({ focus: null }), [setPrefs]);
  useEffect(() => {
    if (!focused) return;
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape' && !document.querySelector('[role="dialog"]')) setPrefs({ focus: null });
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [focused, setPrefs]);

  const header = (
    <header className="view-header cameras-header">
      <h1>Cameras</h1>
      {!focused && (
        <div role="group" aria-label="Layout" className="layout-group">
          {LAYOUTS.map((l) => (
            <button key={l} type="button" aria-pressed={prefs.layout === l} aria-label={`${l} ${l === 1 ? 'camera' : 'cameras'} per page`} onClick={() => setPrefs({ layout: l, page: 0 })}>
              {l}
            </button>
          ))}
        </div>
      )}
      <label className="quality">
        Feed quality
        <select value={prefs.quality} onChange={(e) => setPrefs({ quality: e.target.value === 'high' || e.target.value === 'full' ? e.target.value : 'auto' })}>
          <option value="auto">Auto (fits the tile)</option>
          <option value="high">High (640×360 or more)</option>
          <option value="full">Full (1280×720)</option>
        </select>
      </label>
      <span className="spacer" />
      <button type="button" aria-expanded={managing} onClick={() => setManaging((m) => !m)}>
        Manage cameras
      </button>
      <button type="button" className="primary" onClick={() => setAdding(true)}>
        <Plus size={14} aria-hidden="true" /> Add camera
      </button>
    </header>
  );

  const dialogs = (
    <>
      {adding && <CameraFormDialog open onOpenChange={setAdding} />}
      {editing && <CameraFormDialog open camera={editing} onOpenChange={(o) => !o && setEditing(undefined)} />}
      <RemoveCameraDialog camera={removing} onOpenChange={(o) => !o && setRemoving(undefined)} />
    </>
  );

  if (!cameras)
    return (
      <section className="view cameras">
        {header}
        {error ? <p role="alert" className="error">{error}</p> : <p className="empty">Loading cameras…</p>}
        {dialogs}
      </section>
    );

  let body;
  if (cameras.length === 0) {
    body = (
      <div className="empty cameras-empty">
        <p>No cameras yet.</p>
        <p>Add an Axis camera by its address, an administrator user name and password — or turn on the simulated fleet to try OmniSight without one.</p>
        <p>
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add camera
          </button>{' '}
          <button type="button" onClick={() => go('settings')}>
            Open Settings
          </button>
        </p>
      </div>
    );
  } else if (focused) {
    body = (
      <div className="focus-wrap">
        <button type="button" className="back" onClick={() => setPrefs({ focus: null })}>
          <ArrowLeft size={14} aria-hidden="true" /> Back to grid <kbd>Esc</kbd>
        </button>
        <Tile large camera={focused} status={statuses[focused.id]} engine={engine} size={focusSize} onOpen={unfocus} />
      </div>
    );
  } else {
    const layout: Layout = prefs.layout;
    const pg = pageOf([...cameras].sort((a, b) => byName.compare(a.name, b.name)), layout, prefs.page);
    body = (
      <>
        {pg.pages > 1 && (
          <nav className="pager" aria-label="Camera pages">
            <button type="button" disabled={pg.page === 0} onClick={() => setPrefs({ page: pg.page - 1 })}>
              Previous
            </button>
            <span>
              Page {pg.page + 1} of {pg.pages}
            </span>
            <button type="button" disabled={pg.page >= pg.pages - 1} onClick={() => setPrefs({ page: pg.page + 1 })}>
              Next
            </button>
          </nav>
        )}
        <div className={`grid grid-${layout}`}>
          {pg.items.map((c) => (
            <Tile key={c.id} camera={c} status={statuses[c.id]} engine={engine} size={gridSize} onOpen={focusOn} />
          ))}
        </div>
      </>
    );
  }

  return (
    <section className="view cameras">
      {header}
      {!engine.supported && <p className="warn">Live video reaches the browser mode today; in the desktop window the frame port is not wired yet.</p>}
      {body}
      {managing && cameras.length > 0 && <ManagePanel cameras={cameras} onEdit={setEditing} onRemove={setRemoving} />}
      {dialogs}
    </section>
  );
}
