import { create } from 'zustand';
import type { AppInfo, AppNotification, Settings } from '../../../preload/contract';
import { errorText, transport, type ConnectionState } from '../transport';
import { dismissToast, expireWithQuiet, receiveToast, type Quiet, type Toast } from './toasts';

interface AppState {
  connection: ConnectionState;
  info?: AppInfo;
  settings?: Settings;
  /** Why the app's info or settings could not be read (shown by the views that need them). */
  loadError?: string;
  toasts: Toast[];
  /** Toasts that went away recently, so their repeats do not pop up again at once. */
  quiet: Quiet;
  load(): Promise<void>;
  toast(n: AppNotification): void;
  dismiss(id: number): void;
}

let toastId = 1;
let sweep: ReturnType<typeof setTimeout> | undefined;

export const useApp = create<AppState>((set, get) => ({
  connection: transport().state(),
  toasts: [],
  quiet: {},
  async load() {
    try {
      const [info, settings] = await Promise.all([transport().call('app.info', {}), transport().call('settings.get', {})]);
      set({ info, settings, loadError: undefined });
    } catch (err) {
      set({ loadError: errorText(err) });
    }
  },
  toast(n) {
    const r = receiveToast(get().toasts, get().quiet, n, toastId++, Date.now());
    set({ toasts: r.stack, quiet: r.quiet });
    // One timer for the stack, set for the next toast to expire (repeats push theirs back).
    const schedule = (): void => {
      if (sweep) clearTimeout(sweep);
      sweep = undefined;
      const next = Math.min(...get().toasts.map((t) => t.expiresAt));
      if (!Number.isFinite(next)) return;
      sweep = setTimeout(() => {
        const r = expireWithQuiet(get().toasts, get().quiet, Date.now());
        set({ toasts: r.stack, quiet: r.quiet });
        schedule();
      }, Math.max(50, next - Date.now()));
    };
    schedule();
  },
  dismiss(id) {
    const r = dismissToast(get().toasts, get().quiet, id, Date.now());
    set({ toasts: r.stack, quiet: r.quiet });
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
  // The broker's health is part of the app's info (read at start and after a reconnect); this keeps it current.
  t.on('app.broker', (broker) => useApp.setState((s) => (s.info ? { info: { ...s.info, broker } } : {})));
  void useApp.getState().load();
}
