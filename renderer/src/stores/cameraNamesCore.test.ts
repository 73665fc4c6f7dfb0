import { describe, expect, it } from 'vitest';
import { parseCameraId } from '../../../preload/contract';
import { cameraColour, cameraLabel, nameCameras, namesFrom } from './cameraNamesCore';

const cams = [
  { id: parseCameraId('cam-1'), serial: 'E8272530C15B', name: 'Loading dock' },
  { id: parseCameraId('cam-2'), serial: 'E8272530C15C', name: 'Gate' },
];

describe('camera names', () => {
  it('knows a camera by id and by serial in either case', () => {
    const n = namesFrom(cams);
    expect(n.get('cam-1')).toBe('Loading dock');
    expect(n.get('E8272530C15B')).toBe('Loading dock');
    expect(n.get('e8272530c15b')).toBe('Loading dock');
    expect(cameraLabel('E8272530C15C', n)).toBe('Gate');
    expect(cameraLabel('B8A44F000001', n)).toBe('…000001');
  });

  it('names cameras in free text, leaving other words alone', () => {
    const n = namesFrom(cams);
    expect(nameCameras('Detector too slow: Camera E8272530C15B at 250 ms', n)).toBe('Detector too slow: Camera Loading dock at 250 ms');
    expect(nameCameras('cam-2 and cam-20 differ', n)).toBe('Gate and cam-20 differ');
    expect(nameCameras('nothing here', new Map())).toBe('nothing here');
  });

  it('gives each camera a colour that does not change with the order it is listed in', () => {
    const ids = ['c', 'a', 'b'];
    expect(cameraColour('a', ids)).toBe(cameraColour('a', ['b', 'c', 'a']));
    const all = Array.from({ length: 16 }, (_, i) => `cam-${String(i).padStart(2, '0')}`);
    expect(new Set(all.map((id) => cameraColour(id, all))).size).toBe(16);
  });
});
