// The app-mode transport's frame port: which window messages it accepts as the port, what it
// forwards to onBinary and how it acknowledges (a MessageChannel stands in for the preload's port).
import { describe, expect, it, vi } from 'vitest';
import { APP_ORIGIN, createIpcTransport, FRAMES_MESSAGE, FRAMES_READY, type FrameWindow } from './ipc';

const api = { call: async () => ({ ok: true, value: {} }), on: () => () => {} };

function fakeWindow() {
  const target = new EventTarget();
  const posted: { message: unknown; origin: string }[] = [];
  const win: FrameWindow & { posted: typeof posted; deliver(data: unknown, ports: MessagePort[], origin?: string, source?: unknown): void } = {
    posted,
    addEventListener: (type, l) => target.addEventListener(type, l as EventListener),
    postMessage: (message, origin) => void posted.push({ message, origin }),
    deliver(data, ports, origin = APP_ORIGIN, source = win) {
      target.dispatchEvent(Object.assign(new Event('message'), { data, ports, origin, source }));
    },
  };
  return win;
}

const frame = (bytes: number, ts: number): ArrayBuffer => {
  const b = new ArrayBuffer(bytes);
  const v = new DataView(b);
  v.setUint8(0, 1);
  v.setUint8(1, 1);
  if (bytes >= 12) v.setFloat64(4, ts);
  return b;
};

/** What the page's side posts back on the port, collected on main's side. */
function collect(port: MessagePort): unknown[] {
  const acks: unknown[] = [];
  port.onmessage = (ev) => acks.push(ev.data);
  return acks;
}

const settle = async (cond: () => boolean): Promise<void> => {
  const end = Date.now() + 3000;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
};

describe('app-mode frame port', () => {
  it('tells the preload it listens, addressed to the app origin only', () => {
    const win = fakeWindow();
    const t = createIpcTransport(api, win);
    expect(win.posted).toEqual([{ message: { type: FRAMES_READY }, origin: 'app://omnisight' }]);
    expect(typeof t.onBinary).toBe('function');
  });

  it('takes the port only from this window, the app origin, the exact message and one port', async () => {
    // Each offer goes to its own page, so an accepted bad offer cannot hide behind a later good one.
    const offers: { data: unknown; origin?: string; source?: 'other'; ports?: number }[] = [
      { data: { type: FRAMES_MESSAGE }, origin: 'https://evil.example' },
      { data: { type: FRAMES_MESSAGE }, origin: 'null' },
      { data: { type: FRAMES_MESSAGE }, source: 'other' }, // an iframe or another window
      { data: { type: FRAMES_MESSAGE, more: 1 } },
      { data: { type: 'other' } },
      { data: 'omnisight:frames' },
      { data: { type: FRAMES_MESSAGE }, ports: 2 },
      { data: { type: FRAMES_MESSAGE }, ports: 0 },
      { data: { type: FRAMES_MESSAGE } }, // the one good offer
    ];
    const got = offers.map(() => [] as number[]);
    const channels = offers.map((o, i) => {
      const win = fakeWindow();
      createIpcTransport(api, win).onBinary!((b) => got[i]!.push(new DataView(b).getFloat64(4)));
      const ch = new MessageChannel();
      const extra = new MessageChannel();
      const ports = o.ports === 0 ? [] : o.ports === 2 ? [ch.port2, extra.port2] : [ch.port2];
      win.deliver(o.data, ports, o.origin, o.source === 'other' ? {} : undefined);
      ch.port1.postMessage(frame(32, i));
      return [ch, extra];
    });
    await settle(() => got[offers.length - 1]!.length > 0);
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toEqual(offers.map((_, i) => (i === offers.length - 1 ? [i] : [])));
    for (const ch of channels.flat()) ch.port1.close();
  });

  it('forwards ArrayBuffers to every handler and acknowledges the running byte total', async () => {
    const win = fakeWindow();
    const t = createIpcTransport(api, win);
    const a: number[] = [];
    const b: number[] = [];
    const offB = t.onBinary!((buf) => b.push(buf.byteLength));
    t.onBinary!((buf) => a.push(buf.byteLength));
    const ch = new MessageChannel();
    const acks = collect(ch.port1);
    win.deliver({ type: FRAMES_MESSAGE }, [ch.port2]);
    ch.port1.postMessage(frame(100, 1));
    ch.port1.postMessage(frame(8, 2)); // shorter than a header: counted, not forwarded
    ch.port1.postMessage('not a frame'); // not an ArrayBuffer: ignored entirely
    await settle(() => acks.length >= 2);
    offB();
    ch.port1.postMessage(frame(50, 3));
    await settle(() => acks.length >= 3);
    expect(a).toEqual([100, 50]);
    expect(b).toEqual([100]);
    expect(acks).toEqual([{ ack: 100 }, { ack: 108 }, { ack: 158 }]);
    ch.port1.close();
  });

  it('a handler that throws does not stop the others or the acknowledgement', async () => {
    const win = fakeWindow();
    const t = createIpcTransport(api, win);
    const seen: number[] = [];
    t.onBinary!(() => {
      throw new Error('paint failed');
    });
    t.onBinary!((buf) => seen.push(buf.byteLength));
    const ch = new MessageChannel();
    const acks = collect(ch.port1);
    win.deliver({ type: FRAMES_MESSAGE }, [ch.port2]);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      ch.port1.postMessage(frame(40, 1));
      await settle(() => acks.length >= 1);
      expect(logged).toHaveBeenCalledTimes(1);
    } finally {
      logged.mockRestore();
    }
    expect(seen).toEqual([40]);
    expect(acks).toEqual([{ ack: 40 }]);
    ch.port1.close();
  });

  it('a new port replaces the old one and its byte count starts over', async () => {
    const win = fakeWindow();
    const t = createIpcTransport(api, win);
    const got: number[] = [];
    t.onBinary!((buf) => got.push(new DataView(buf).getFloat64(4)));
    const first = new MessageChannel();
    const firstAcks = collect(first.port1);
    win.deliver({ type: FRAMES_MESSAGE }, [first.port2]);
    first.port1.postMessage(frame(64, 1));
    await settle(() => firstAcks.length >= 1);
    const second = new MessageChannel();
    const secondAcks = collect(second.port1);
    win.deliver({ type: FRAMES_MESSAGE }, [second.port2]);
    first.port1.postMessage(frame(64, 2)); // the old port is closed: this goes nowhere
    second.port1.postMessage(frame(32, 3));
    await settle(() => secondAcks.length >= 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toEqual([1, 3]);
    expect(firstAcks).toEqual([{ ack: 64 }]);
    expect(secondAcks).toEqual([{ ack: 32 }]);
    first.port1.close();
    second.port1.close();
  });
});
