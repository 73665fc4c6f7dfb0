// App mode's camera frames: a MessageChannelMain per window document. Main keeps one port as the
// window's frame sink (main/fleet/frames.ts holds the logic and its tests) and transfers the other
// to the window's main frame; the preload hands it on to the page. The preload asks once per
// document, before any page script runs, so a reload always starts from a fresh port.
import { ipcMain, MessageChannelMain, type IpcMainEvent, type WebContents } from 'electron';
import type { AuditLog } from '../audit';
import { createWindowFrameSinks, type FrameSinkTarget } from '../fleet';
import { senderIsTrusted, windowPeer } from './ipc';

export const FRAMES_CHANNEL = 'omnisight:frames';

export function wireFramePorts(deps: { fleet: FrameSinkTarget; audit: AuditLog; windows: () => WebContents[] }): () => void {
  const sinks = createWindowFrameSinks(deps.fleet);
  const tracked = new WeakSet<WebContents>();

  const onRequest = (event: IpcMainEvent): void => {
    const wc = event.sender;
    // Checklist item 17, and the port goes only to one of the app's own windows.
    if (!senderIsTrusted(event) || !deps.windows().includes(wc)) {
      deps.audit.record({
        kind: 'transport.refused',
        severity: 'critical',
        source: `ipc:${event.senderFrame?.url ?? 'unknown frame'}`,
        message: 'Refused a camera frame port to a frame that is not the app window',
      });
      return;
    }
    const peer = windowPeer(wc.id);
    if (!tracked.has(wc)) {
      tracked.add(wc);
      wc.once('destroyed', () => sinks.close(peer));
    }
    const { port1, port2 } = new MessageChannelMain();
    sinks.open(peer, port1);
    wc.postMessage(FRAMES_CHANNEL, null, [port2]);
  };

  ipcMain.on(FRAMES_CHANNEL, onRequest);
  return () => {
    ipcMain.removeListener(FRAMES_CHANNEL, onRequest);
    sinks.closeAll();
  };
}
