import { describe, expect, it } from 'vitest';
import type { CameraState } from '../../preload/contract/fleet';
import { fleetStateFallbackHealth, liveCameras, swarmLinkHealth, type SwarmLink } from './links';

function fakeFleet(states: Record<string, CameraState>) {
  return {
    // Registry ids differ from serials: the federation speaks serials, the fleet's status ids.
    registry: { list: () => Object.keys(states).map((serial) => ({ id: `id-${serial}`, serial, demo: false, demoActive: false })) } as never,
    status: (id: string) => (id.slice(3) in states ? ({ cameraId: id, state: states[id.slice(3)]! } as never) : undefined),
  };
}

describe('live camera selection inputs', () => {
  it('lists the registered cameras and never makes an offline (or swarm-down) camera available', () => {
    const links: SwarmLink[] = [
      { id: 'a', status: 'healthy', loss: 0, latencyMs: 40 },
      { id: 'b', status: 'down', loss: 0, latencyMs: null },
      { id: 'c', status: 'degraded', loss: 0.2, latencyMs: 1000 },
    ];
    const live = liveCameras({ fleet: fakeFleet({ a: 'online', b: 'online', c: 'stalled', d: 'offline', e: 'connecting' }), swarmLinks: () => links });
    expect(live.cameras()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(['a', 'b', 'c', 'd', 'e'].filter(live.available)).toEqual(['a', 'c', 'e']);
    expect(live.available('unregistered')).toBe(false);
    // Measured links win over the fleet state; the fallback covers cameras the swarm does not know.
    expect(live.linkHealth('a')).toBe(1);
    expect(live.linkHealth('c')).toBeCloseTo(0.8 * 0.5, 12);
    expect(live.linkHealth('e')).toBe(fleetStateFallbackHealth('connecting'));
    expect(live.linkHealth('d')).toBe(0);
  });

  it('rates a link by delivery and latency', () => {
    expect(swarmLinkHealth({ id: 'x', status: 'healthy', loss: 0.1, latencyMs: 100 })).toBeCloseTo(0.9, 12);
    expect(swarmLinkHealth({ id: 'x', status: 'quarantined', loss: 0, latencyMs: 10 })).toBe(0);
    expect(swarmLinkHealth({ id: 'x', status: 'degraded', loss: 0, latencyMs: 2000 })).toBeCloseTo(0.25, 12);
    expect(fleetStateFallbackHealth('online')).toBeGreaterThan(fleetStateFallbackHealth('stalled'));
  });

  it('works without a swarm (fallback only)', () => {
    const live = liveCameras({ fleet: fakeFleet({ a: 'online', b: 'stalled' }) });
    expect(live.linkHealth('a')).toBe(1);
    expect(live.linkHealth('b')).toBe(0.5);
    expect(live.available('b')).toBe(true);
  });
});
