import { create } from 'zustand';
import type { AppInfo, AppNotification, Settings, SettingsPatch } from '../../../preload/contract';
import { CallError, transport, type ConnectionState } from '../transport';

interface Toast extends AppNotification {
  id: number;
}

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
      set({ settingsError: err instanceof CallError ? err.message : String(err) });
      return false;
    }
  },
  toast(n) {
    const id = toastId++;
    set({ toasts: [...get().toasts.slice(-4), { ...n, id }] });
    setTimeout(() => get().dismiss(id), n.severity === 'critical' ? 15_000 : 6_000);
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
