import type { CallResult } from '../../../preload/contract';
import { CallError, type ConnectionState, type Transport } from './types';

export interface PreloadApi {
  call(method: string, input: unknown): Promise<unknown>;
  on(topic: string, handler: (payload: unknown) => void): () => void;
}

/** The page's own origin in app mode; the preload posts the frame port to it and nowhere else. */
export const APP_ORIGIN = 'app://omnisight';
/** The preload's message carrying the port (one port, nothing else in the data). */
export const FRAMES_MESSAGE = 'omnisight:frames';
/** The page's message telling the preload it listens (the port may arrive before the page loads). */
export const FRAMES_READY = 'omnisight:frames-ready';
const FRAME_HEADER_BYTES = 16;

/** What the frame-port handshake uses of `window` (tests pass a fake). */
export interface FrameWindow {
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void;
  postMessage(message: unknown, targetOrigin: string): void;
}

const isFramesMessage = (data: unknown): boolean =>
  typeof data === 'object' && data !== null && Object.keys(data).length === 1 && (data as { type?: unknown }).type === FRAMES_MESSAGE;

/**
 * App mode: calls and events through the preload API; camera frames (docs/protocol.md, "Camera
 * frames to the renderer") on the MessagePort the preload posts to this page. Each message taken
 * off the port is acknowledged with the running byte total, which is how main sees this renderer
 * falling behind (a MessagePort has no bufferedAmount) and drops frames instead of queueing them.
 */
export function createIpcTransport(api: PreloadApi, win: FrameWindow = window): Transport {
  const state: ConnectionState = { status: 'open', attempt: 0, since: Date.now() };
  const binaryHandlers = new Set<(data: ArrayBuffer) => void>();
  let port: MessagePort | undefined;
  let received = 0;

  const onPortMessage = (ev: MessageEvent): void => {
    const data: unknown = ev.data;
    if (!(data instanceof ArrayBuffer)) return; // main posts only ArrayBuffers; anything else is not ours
    received += data.byteLength;
    if (data.byteLength >= FRAME_HEADER_BYTES)
      for (const h of binaryHandlers) {
        try {
          h(data);
        } catch (err) {
          // One failing viewer must not starve the others, nor stop the acknowledgements.
          console.error('camera frame handler failed', err);
        }
      }
    port?.postMessage({ ack: received });
  };

  win.addEventListener('message', (ev) => {
    // Only the preload of this very window, from the app's origin, with exactly one port.
    if (ev.source !== win || ev.origin !== APP_ORIGIN || !isFramesMessage(ev.data) || ev.ports.length !== 1) return;
    port?.close(); // a new port from main replaces the old one; counts restart with it
    received = 0;
    port = ev.ports[0]!;
    port.onmessage = onPortMessage; // assigning onmessage starts the port
  });
  win.postMessage({ type: FRAMES_READY }, APP_ORIGIN);

  return {
    kind: 'ipc',
    async call(method, input) {
      const result = (await api.call(method, input)) as CallResult<never>;
      if (!result.ok) throw new CallError(result.error);
      return result.value;
    },
    on: (topic, handler) => api.on(topic, handler as (p: unknown) => void),
    state: () => state,
    onState: () => () => {},
    onBinary(handler) {
      binaryHandlers.add(handler);
      return () => binaryHandlers.delete(handler);
    },
  };
}
