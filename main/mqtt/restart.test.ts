// The embedded broker's thread dies while serving: the MQTT service starts a new one on the same port
// with the same desktop password, and everything configured before works again without being told.
// Real MQTT clients (the mqtt package) over 127.0.0.1; the thread is the real broker-worker.ts, run
// by a fixture that exits it on a BroadcastChannel message (testdata/killable-broker.ts).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../kernel/logger';
import type { SecretStore } from '../kernel/ports';
import { createMqttService, restartDelayMs, type BrokerHealth, type MqttService } from './index';

const SERIAL = 'B8A44F7D507D';
const SESSION_KEY_TOPIC = 'omnisight/desktop/session-key';
const SESSION_KEY = '{"v":1,"key":"test","id":"0011223344556677"}';
const noSecrets: SecretStore = { protection: 'file-key', get: () => undefined, set: () => {}, delete: () => {} };
const brokerEntry = path.join(__dirname, 'testdata', 'killable-broker.ts');

async function waitFor(cond: () => boolean, ms = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Ends every killable broker thread in this process, as a crash would (exit code 1). */
async function killBrokers(): Promise<void> {
  const ch = new BroadcastChannel('omnisight-test-kill-brokers');
  ch.postMessage('die');
  await new Promise((r) => setTimeout(r, 10));
  ch.close();
}

function embedded(): { svc: MqttService; states: BrokerHealth[] } {
  const svc = createMqttService({
    config: () => ({ mode: 'embedded', url: '', username: '' }),
    secrets: noSecrets,
    log: silentLogger(),
    retained: [[SESSION_KEY_TOPIC, SESSION_KEY]],
    brokerEntry,
  });
  const states: BrokerHealth[] = [];
  svc.onBrokerState((h) => states.push(h));
  return { svc, states };
}

const listening = (port: number): Promise<boolean> =>
  new Promise((r) => {
    const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
    s.on('error', () => r(false));
  });

/**
 * Timers of 100 ms or more set from now on that have neither fired nor been cleared (the restart
 * wait; the MQTT client's reconnect). Node's own list cannot tell them from the test runner's.
 */
function watchTimers(): { pending(): number[] } {
  const live = new Map<unknown, number>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t = realSet((...a: unknown[]) => (live.delete(t), fn(...a)), ms, ...args);
    if ((ms ?? 0) >= 100) live.set(t, ms!);
    return t;
  }) as typeof setTimeout);
  vi.spyOn(globalThis, 'clearTimeout').mockImplementation((t) => (live.delete(t), realClear(t)));
  return { pending: () => [...live.values()] };
}

/** OS threads of this process (Linux): a broker thread left running shows here. */
const threads = (): number => fs.readdirSync('/proc/self/task').length;

afterEach(() => vi.restoreAllMocks());

describe('restartDelayMs', () => {
  it('backs off from 0.5 s, doubling, to at most 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 100].map(restartDelayMs)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });
});

// Each broker start loads aedes and zod in a new thread (0.2–0.9 s under load on 2 cores).
describe('the embedded broker comes back after its thread dies', { timeout: 40_000 }, () => {
  it('a camera publishing before the crash is heard again afterwards, on the same port, with nothing reconfigured', async () => {
    const { svc, states } = embedded();
    await svc.start();
    const ep = svc.endpoint()!;
    const url = `mqtt://${ep.host}:${ep.port}`;
    const heard: number[] = [];
    svc.onRaw((topic, payload) => topic === `axis/${SERIAL}/omnisight/heartbeat` && heard.push(Number(String(payload))));
    // A camera as VAPIX configured it: host:port, anonymous, reconnecting on its own.
    const camera = mqtt.connect(url, { clientId: `omnisight-${SERIAL}`, reconnectPeriod: 200, connectTimeout: 2_000 });
    let sent = 0;
    const beat = setInterval(() => camera.connected && camera.publish(`axis/${SERIAL}/omnisight/heartbeat`, String(++sent), { qos: 1 }), 50);
    const listener = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    try {
      await waitFor(() => heard.length >= 3, 10_000, 'heartbeats before the crash');
      await listener.endAsync(true);
      await killBrokers();
      await waitFor(() => svc.brokerState()?.state === 'restarting', 10_000, 'restarting');
      const down = svc.brokerState();
      expect(down).toMatchObject({ state: 'restarting', restarts: 0, attempt: 1, lastError: expect.stringMatching(/thread exited \(code 1\)/) });
      await waitFor(() => svc.brokerState()?.state === 'serving', 20_000, 'serving again');
      // The promise: what the camera publishes from now on reaches the desktop's raw listener again.
      const after = sent;
      await waitFor(() => heard.some((n) => n > after), 15_000, 'a heartbeat published after the restart');
      expect(svc.endpoint()).toEqual(ep);
      expect(states.map((s) => s.state)).toEqual(['serving', 'restarting', 'serving']);
      expect(svc.brokerState()).toEqual({ state: 'serving', restarts: 1 });
      await waitFor(() => svc.connected(), 10_000, 'the desktop client');

      // The desktop logged in again with its password: only it may publish under omnisight/desktop/,
      // and the new broker has its retained session key again (the dead one's memory is gone).
      const again = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
      try {
        const retained = new Promise<string>((r) => again.on('message', (t, p) => t === SESSION_KEY_TOPIC && r(String(p))));
        const announce = new Promise<string>((r) => again.on('message', (t, p) => t === 'omnisight/desktop/fl/announce' && r(String(p))));
        await again.subscribeAsync('omnisight/desktop/#', { qos: 1 });
        expect(await retained).toBe(SESSION_KEY);
        expect(svc.publish('omnisight/desktop/fl/announce', 'from the desktop')).toBe(true);
        expect(await announce).toBe('from the desktop');
      } finally {
        await again.endAsync(true);
      }
    } finally {
      clearInterval(beat);
      await camera.endAsync(true);
      await listener.endAsync(true).catch(() => undefined);
      await svc.close();
    }
  });

  it('says so when another program took the port meanwhile, keeps trying, and is back once the port is free', async () => {
    const { svc, states } = embedded();
    await svc.start();
    const port = svc.endpoint()!.port;
    const holder = net.createServer();
    try {
      await killBrokers();
      // Taken before the first attempt (0.5 s after the death): listen as soon as the dead thread let go.
      const end = Date.now() + 5_000;
      for (;;) {
        const ok = await new Promise<boolean>((r) => {
          holder.once('error', () => r(false));
          holder.listen(port, '127.0.0.1', () => r(true));
        });
        if (ok) break;
        if (Date.now() > end) throw new Error('the dead broker did not release its port');
        await new Promise((r) => setTimeout(r, 5));
      }
      await waitFor(() => { const h = svc.brokerState(); return h?.state === 'restarting' && h.attempt >= 2; }, 15_000, 'a failed attempt'); // prettier-ignore
      expect(svc.brokerState()).toMatchObject({
        state: 'restarting',
        lastError: `Another program took 127.0.0.1:${port}, the port the cameras publish to. Stop it (the broker keeps trying), or restart OmniSight to move the broker to a free port and configure the cameras again.`,
      });
      await new Promise<void>((r) => holder.close(() => r()));
      await waitFor(() => svc.brokerState()?.state === 'serving', 20_000, 'serving again');
      expect(svc.endpoint()!.port).toBe(port);
      expect(svc.brokerState()).toEqual({ state: 'serving', restarts: 1 });
      // One outage: every state in it is 'restarting' with a rising attempt and the same start.
      const outage = states.filter((s) => s.state === 'restarting');
      expect(outage.map((s) => s.state === 'restarting' && s.attempt)).toEqual(outage.map((_, i) => i + 1));
      expect(new Set(outage.map((s) => s.state === 'restarting' && s.since)).size).toBe(1);
    } finally {
      if (holder.listening) await new Promise<void>((r) => holder.close(() => r()));
      await svc.close();
    }
  });

  it('close() while it waits to restart leaves no thread, no timer and nothing on the port', async () => {
    const { svc, states } = embedded();
    await svc.start();
    const port = svc.endpoint()!.port;
    const serving = threads();
    // Closed the moment the death is reported: the first attempt is 0.5 s away.
    const closed = new Promise<void>((resolve, reject) => svc.onBrokerState((h) => h.state === 'restarting' && svc.close().then(resolve, reject)));
    const timers = watchTimers(); // the restart wait is one of these
    await killBrokers();
    await closed;
    expect(timers.pending()).toEqual([]);
    const seen = states.length;
    const closedThreads = threads();
    expect(closedThreads).toBeLessThan(serving); // the broker's thread is gone
    // Watched past the attempt that would have come: no new thread at any moment, nobody on the port.
    let most = 0;
    const end = Date.now() + restartDelayMs(1) + 1_500;
    while (Date.now() < end) {
      most = Math.max(most, threads());
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(most).toBeLessThanOrEqual(closedThreads);
    expect(states.length).toBe(seen);
    expect(svc.brokerState()?.state).toBe('restarting');
    expect(await listening(port)).toBe(false);
  });
});
