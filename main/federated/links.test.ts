import { describe, expect, it } from 'vitest';
import { parseCameraId as id } from '../../preload/contract/camera-id';
import type { CameraState } from '../../preload/contract/fleet';
import { fleetStateFallbackHealth, liveCameras, swarmLinkHealth, type SwarmLink } from './links';

function fakeFleet(states: Record<string, CameraState>) {
  return {
    // Serials unlike the ids: the swarm's links are found by the camera's serial attribute.
    registry: { list: () => Object.keys(states).map((k) => ({ id: id(k) })), get: (k: string) => (k in states ? { id: k, serial: `SN-${k}` } : undefined) } as never,
    status: (id: string) => (id in states ? ({ cameraId: id, state: states[id]! } as never) : undefined),
  };
}

describe('live camera selection inputs', () => {
  it('lists the registered cameras and never makes an offline (or swarm-down) camera available', () => {
    const links: SwarmLink[] = [
      { id: 'SN-a', status: 'healthy', loss: 0, latencyMs: 40 },
      { id: 'SN-b', status: 'down', loss: 0, latencyMs: null },
      { id: 'SN-c', status: 'degraded', loss: 0.2, latencyMs: 1000 },
      { id: 'e', status: 'down', loss: 0, latencyMs: null }, // named like camera e's id, not its serial: not e's link
    ];
    const live = liveCameras({ fleet: fakeFleet({ a: 'online', b: 'online', c: 'stalled', d: 'offline', e: 'connecting' }), swarmLinks: () => links });
    expect(live.cameras()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(['a', 'b', 'c', 'd', 'e'].map(id).filter(live.available)).toEqual(['a', 'c', 'e']);
    expect(live.available(id('unregistered'))).toBe(false);
    // Measured links win over the fleet state; the fallback covers cameras the swarm does not know.
    expect(live.linkHealth(id('a'))).toBe(1);
    expect(live.linkHealth(id('c'))).toBeCloseTo(0.8 * 0.5, 12);
    expect(live.linkHealth(id('e'))).toBe(fleetStateFallbackHealth('connecting'));
    expect(live.linkHealth(id('d'))).toBe(0);
  });

  it('rates a link by delivery and latency', () => {
    expect(swarmLinkHealth({ id: 'x', status: 'healthy', loss: 0.1, latencyMs: 100 })).toBeCloseTo(0.9, 12);
    expect(swarmLinkHealth({ id: 'x', status: 'quarantined', loss: 0, latencyMs: 10 })).toBe(0);
    expect(swarmLinkHealth({ id: 'x', status: 'degraded', loss: 0, latencyMs: 2000 })).toBeCloseTo(0.25, 12);
    expect(fleetStateFallbackHealth('online')).toBeGreaterThan(fleetStateFallbackHealth('stalled'));
  });

  it('works without a swarm (fallback only)', () => {
    const live = liveCameras({ fleet: fakeFleet({ a: 'online', b: 'stalled' }) });
    expect(live.linkHealth(id('a'))).toBe(1);
    expect(live.linkHealth(id('b'))).toBe(0.5);
    expect(live.available(id('b'))).toBe(true);
  });
});
