// The only bridge between the sandboxed renderer and main: call(method, input) and on(topic,
// handler) for names in the contract. Raw ipcRenderer is never exposed (checklist item 20); camera
// frames reach the page on a MessagePort, never through an exposed function.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { isEventTopic, isMethodName } from './contract';

const CALL_CHANNEL = 'omnisight:call';
const EVENT_CHANNEL = 'omnisight:event';

const api = {
  call(method: string, input: unknown): Promise<unknown> {
    if (!isMethodName(method)) return Promise.resolve({ ok: false, error: { code: 'unknown_method', message: `Unknown method "${String(method)}".` } });
    return ipcRenderer.invoke(CALL_CHANNEL, method, input);
  },
  on(topic: string, handler: (payload: unknown) => void): () => void {
    if (!isEventTopic(topic)) throw new Error(`Unknown event topic "${String(topic)}".`);
    const listener = (_e: IpcRendererEvent, t: string, payload: unknown): void => {
      if (t === topic) handler(payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, listener);
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, listener);
  },
};

contextBridge.exposeInMainWorld('omnisight', api);

// Camera frames: main transfers a MessagePort per document (main/electron/frames.ts). A port
// cannot cross contextBridge, so it is posted to the page, addressed to the app's own origin
// only, once the page says it listens (it may load after the port arrives).
const FRAMES_CHANNEL = 'omnisight:frames';
const FRAMES_READY = 'omnisight:frames-ready';
const PAGE_ORIGIN = 'app://omnisight';
let heldPort: MessagePort | undefined;
let pageListens = false;

const handOver = (): void => {
  if (!heldPort || !pageListens || window.location.origin !== PAGE_ORIGIN) return;
  window.postMessage({ type: FRAMES_CHANNEL }, PAGE_ORIGIN, [heldPort]);
  heldPort = undefined;
};
ipcRenderer.on(FRAMES_CHANNEL, (e: IpcRendererEvent) => {
  const port = e.ports[0];
  if (e.ports.length !== 1 || !port) return;
  heldPort?.close();
  heldPort = port;
  handOver();
});
window.addEventListener('message', (ev: MessageEvent) => {
  const d = ev.data as { type?: unknown } | null;
  if (ev.source !== window || ev.origin !== PAGE_ORIGIN || typeof d !== 'object' || d === null || d.type !== FRAMES_READY) return;
  pageListens = true;
  handOver();
});
ipcRenderer.send(FRAMES_CHANNEL);
export type PreloadApi = typeof api;
