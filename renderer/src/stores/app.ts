import { create } from 'zustand';
import type { AppInfo, AppNotification, Settings } from '../../../preload/contract';
import { errorText, transport, type ConnectionState } from '../transport';
import { expireToasts, pushToast, type Toast } from './toasts';

interface AppState {
  connection: ConnectionState;
  info?: AppInfo;
  settings?: Settings;
  /** Why the app's info or settings could not be read (shown by the views that need them). */
  loadError?: string;
  toasts: Toast[];
  load(): Promise<void>;
  toast(n: AppNotification): void;
  dismiss(id: number): void;
}

let toastId = 1;
let sweep: ReturnType<typeof setTimeout> | undefined;

export const useApp = create<AppState>((set, get) => ({
  connection: transport().state(),
  toasts: [],
  async load() {
    try {
      const [info, settings] = await Promise.all([transport().call('app.info', {}), transport().call('settings.get', {})]);
      set({ info, settings, loadError: undefined });
    } catch (err) {
      set({ loadError: errorText(err) });
    }
  },
  toast(n) {
    set({ toasts: pushToast(get().toasts, n, toastId++, Date.now()) });
    // One timer for the stack, set for the next toast to expire (repeats push theirs back).
    const schedule = (): void => {
      if (sweep) clearTimeout(sweep);
      sweep = undefined;
      const next = Math.min(...get().toasts.map((t) => t.expiresAt));
      if (!Number.isFinite(next)) return;
      sweep = setTimeout(() => {
        set({ toasts: expireToasts(get().toasts, Date.now()) });
        schedule();
      }, Math.max(50, next - Date.now()));
    };
    schedule();
  },
  dismiss(id) {
    set({ toasts: get().toasts.filter((t) => t.id !== id) });
  },
}));

/** Wires transport events into the store once, at start. */
export function startAppStore(): void {
  const t = transport();
  t.onState((connection) => {
    useApp.setState({ connection });
    // After a reconnect, anything may have changed while we were away.
    if (connection.status === 'open') void useApp.getState().load();
  });
  t.on('settings.changed', (settings) => useApp.setState({ settings }));
  t.on('app.notification', (n) => useApp.getState().toast(n));
  void useApp.getState().load();
}
