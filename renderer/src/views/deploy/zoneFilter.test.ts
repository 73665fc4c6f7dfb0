import { describe, expect, it } from 'vitest';
import { filterCameras, zoneOptions } from './zoneFilter';

const cam = (name: string, serial: string, model = 'M3106', firmware = '11.9', soc = 'ARTPEC-7') => ({ name, serial, model, firmware, soc });
const cameras = [cam('Gate east', 'AAAA00000001'), cam('Gate west', 'AAAA00000002', 'P3265', '10.12', 'ARTPEC-8'), cam('Dock', 'AAAA00000003'), cam('Roof', 'AAAA00000004')];
const zones = zoneOptions(
  [
    { zone: 'gate', covering: ['AAAA00000001', 'AAAA00000002'] },
    { zone: 'dock', covering: ['AAAA00000002', 'AAAA00000003'] },
    { zone: 'empty', covering: [] },
  ],
  [
    { id: 'gate', name: 'Main gate' },
    { id: 'dock', name: 'Loading dock' },
  ],
);

describe('deploy zone filter', () => {
  it('names zones from the configuration (id when unnamed) and sorts them by name', () => {
    expect(zones.map((z) => [z.id, z.name])).toEqual([
      ['empty', 'empty'],
      ['dock', 'Loading dock'],
      ['gate', 'Main gate'],
    ]);
  });

  it('keeps only the cameras covering the chosen zone, by serial; a camera may be in several zones', () => {
    expect(filterCameras(cameras, '', 'gate', zones).map((c) => c.name)).toEqual(['Gate east', 'Gate west']);
    expect(filterCameras(cameras, '', 'dock', zones).map((c) => c.name)).toEqual(['Gate west', 'Dock']);
    expect(filterCameras(cameras, '', 'empty', zones)).toEqual([]);
  });

  it('combines the zone with the text filter, and shows everything with neither', () => {
    expect(filterCameras(cameras, 'artpec-8', 'gate', zones).map((c) => c.name)).toEqual(['Gate west']);
    expect(filterCameras(cameras, '  GATE ', '', zones).map((c) => c.name)).toEqual(['Gate east', 'Gate west']);
    expect(filterCameras(cameras, '', '', zones)).toHaveLength(4);
  });

  it('shows nobody for a zone that is no longer known rather than everybody', () => {
    expect(filterCameras(cameras, '', 'gone', zones)).toEqual([]);
  });
});
