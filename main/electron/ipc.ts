import { ipcMain, type IpcMainEvent, type IpcMainInvokeEvent, type WebContents } from 'electron';
import type { AuditLog } from '../audit';
import type { EventBus } from '../kernel/bus';
import type { Dispatcher } from '../kernel/dispatcher';
import { APP_ORIGIN } from './policy';

export const CALL_CHANNEL = 'omnisight:call';
export const EVENT_CHANNEL = 'omnisight:event';

/** The dispatcher's name for a window: fleet.watch channels and the window's frame port meet under it. */
export const windowPeer = (webContentsId: number): string => `window:${webContentsId}`;

/** Checklist item 17: only the app's own main frame may call. */
export function senderIsTrusted(event: Pick<IpcMainInvokeEvent | IpcMainEvent, 'sender' | 'senderFrame'>): boolean {
  const frame = event.senderFrame;
  return !!frame && frame === event.sender.mainFrame && frame.url.startsWith(`${APP_ORIGIN}/`);
}

export function wireIpc(deps: { dispatcher: Dispatcher; bus: EventBus; audit: AuditLog; windows: () => WebContents[] }): () => void {
  ipcMain.handle(CALL_CHANNEL, async (event, method: unknown, input: unknown) => {
    if (!senderIsTrusted(event)) {
      deps.audit.record({
        kind: 'transport.refused',
        severity: 'critical',
        source: `ipc:${event.senderFrame?.url ?? 'unknown frame'}`,
        message: 'Refused an IPC call from a frame that is not the app',
        detail: { method: String(method).slice(0, 100) },
      });
      return { ok: false, error: { code: 'forbidden', message: 'Calls are accepted only from the app window.' } };
    }
    return deps.dispatcher.dispatch(method, input, { transport: 'ipc', peer: windowPeer(event.sender.id) });
  });
  const unsubscribe = deps.bus.subscribeAll((ev) => {
    for (const wc of deps.windows()) if (!wc.isDestroyed()) wc.send(EVENT_CHANNEL, ev.topic, ev.payload);
  });
  return () => {
    ipcMain.removeHandler(CALL_CHANNEL);
    unsubscribe();
  };
}
