// The only bridge between the sandboxed renderer and main: call(method, input) and on(topic,
// handler) for names in the contract. Raw ipcRenderer is never exposed (checklist item 20).
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
export type PreloadApi = typeof api;
