// Camera list and live status for the Cameras view (about one status event per camera per second;
// per-frame data never comes through here) plus the layout/focus the user chose.
import { create } from 'zustand';
import type { Camera, CameraStatus } from '../../../../preload/contract';
import { transport } from '../../transport';
import { LAYOUTS, type FeedQuality, type Layout } from './feedCore';
import { readOverlays, type Overlay } from './overlayCore';
import { createBatcher } from './statusBatchCore';

const PREFS_KEY = 'omnisight.cameras';

export interface CameraPrefs {
  layout: Layout;
  page: number;
  focus: string | null;
  quality: FeedQuality;
  /** Per camera: what is drawn over its feed. */
  overlays: Record<string, Overlay>;
}

const defaults: CameraPrefs = { layout: 4, page: 0, focus: null, quality: 'auto', overlays: {} };

/** Remembered per user profile (localStorage is per browser profile / per app user data). */
export function loadPrefs(): CameraPrefs {
  try {
    const raw = JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') as Partial<CameraPrefs>;
    return {
      layout: LAYOUTS.includes(raw.layout as Layout) ? (raw.layout as Layout) : defaults.layout,
      page: Number.isInteger(raw.page) && (raw.page as number) >= 0 ? (raw.page as number) : 0,
      focus: typeof raw.focus === 'string' ? raw.focus : null,
      quality: raw.quality === 'high' || raw.quality === 'full' ? raw.quality : 'auto',
      overlays: readOverlays(raw.overlays),
    };
  } catch {
    return { ...defaults };
  }
}

interface FleetState {
  cameras: Camera[] | undefined;
  statuses: Record<string, CameraStatus>;
  error: string | undefined;
  prefs: CameraPrefs;
  load(): Promise<void>;
  setPrefs(p: Partial<CameraPrefs>): void;
}

export const useFleet = create<FleetState>((set, get) => ({
  cameras: undefined,
  statuses: {},
  error: undefined,
  prefs: loadPrefs(),
  async load() {
    try {
      const r = await transport().call('fleet.list', {});
      set({ cameras: r.cameras, statuses: Object.fromEntries(r.statuses.map((s) => [s.cameraId, s])), error: undefined });
    } catch (err) {
      set({ error: (err as Error).message });
    }
  },
  setPrefs(p) {
    const prefs = { ...get().prefs, ...p };
    localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
    set({ prefs });
  },
}));

let subscribed = false;
/** Subscribes once per page: the list and statuses follow the fleet's events. */
export function subscribeFleet(): void {
  if (subscribed) return;
  subscribed = true;
  const t = transport();
  t.on('fleet.changed', ({ cameras }) => useFleet.setState({ cameras }));
  // Statuses come one camera at a time; they are applied together a few times a second so the grid
  // re-renders once per batch, not once per camera (statusBatchCore.ts says why).
  const statuses = createBatcher<CameraStatus>((batch) => useFleet.setState((st) => ({ statuses: { ...st.statuses, ...batch } })), 250);
  t.on('fleet.cameraStatus', (s) => statuses.push(s.cameraId, s));
  // After a reconnect, events may have been missed: read the list again.
  let wasOpen = t.state().status === 'open';
  t.onState((s) => {
    if (s.status === 'open' && !wasOpen) void useFleet.getState().load();
    wasOpen = s.status === 'open';
  });
}
