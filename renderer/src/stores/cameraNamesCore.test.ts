import { describe, expect, it } from 'vitest';
import { parseCameraId } from '../../../preload/contract';
import { byCameraName, cameraColour, cameraLabel, nameCameras, namesFrom } from './cameraNamesCore';

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

describe('byCameraName', () => {
  it('orders ids by the names people read, numbers as numbers, unknown ids after by their label', () => {
    const names = new Map([
      ['cam_83f2', 'Demo 7'],
      ['cam_124f', 'Demo 10'],
      ['cam_a001', 'Demo 2'],
      ['cam_0b11', 'demo 1'],
    ]);
    expect(byCameraName(['cam_83f2', 'cam_124f', 'cam_a001', 'cam_0b11'], names)).toEqual(['cam_0b11', 'cam_a001', 'cam_83f2', 'cam_124f']);
    expect(byCameraName(new Set(['cam_124f', 'B8A44F7D507D']), names)).toEqual(['cam_124f', 'B8A44F7D507D']);
  });
});
