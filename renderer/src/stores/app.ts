import { create } from 'zustand';
import type { AppInfo, AppNotification, Settings, SettingsPatch } from '../../../preload/contract';
import { errorText, transport, type ConnectionState } from '../transport';
import { expireToasts, pushToast, type Toast } from './toasts';

interface AppState {
  connection: ConnectionState;
  info?: AppInfo;
  settings?: Settings;
  settingsError?: string;
  toasts: Toast[];
  load(): Promise<void>;
  updateSettings(patch: SettingsPatch): Promise<boolean>;
  toast(n: AppNotification): void;
  dismiss(id: number): void;
}

let toastId = 1;
let sweep: ReturnType<typeof setTimeout> | undefined;

export const useApp = create<AppState>((set, get) => ({
  connection: transport().state(),
  toasts: [],
  async load() {
    const [info, settings] = await Promise.all([transport().call('app.info', {}), transport().call('settings.get', {})]);
    set({ info, settings });
  },
  async updateSettings(patch) {
    try {
      const settings = await transport().call('settings.set', patch);
      set({ settings, settingsError: undefined });
      return true;
    } catch (err) {
      set({ settingsError: errorText(err) });
      return false;
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
    if (connection.status === 'open') void useApp.getState().load().catch(() => {});
  });
  t.on('settings.changed', (settings) => useApp.setState({ settings }));
  t.on('app.notification', (n) => useApp.getState().toast(n));
  void useApp.getState().load().catch(() => {});
}
