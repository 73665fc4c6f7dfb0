import { describe, expect, it } from 'vitest';
import { moveSelection, snapshotNote } from './reviewCore';

describe('review keyboard', () => {
  it('moves through the list with arrows, j/k, Home and End, and stops at the ends', () => {
    const ids = [9, 7, 4];
    expect(moveSelection(ids, undefined, 'ArrowDown')).toBe(9);
    expect(moveSelection(ids, 9, 'j')).toBe(7);
    expect(moveSelection(ids, 4, 'ArrowDown')).toBe(4);
    expect(moveSelection(ids, 7, 'k')).toBe(9);
    expect(moveSelection(ids, 9, 'ArrowUp')).toBe(9);
    expect(moveSelection(ids, 9, 'End')).toBe(4);
    expect(moveSelection(ids, 4, 'Home')).toBe(9);
    expect(moveSelection(ids, 4, 'x')).toBeUndefined();
    expect(moveSelection([], undefined, 'j')).toBeUndefined();
  });
  it('says why a snapshot is missing', () => {
    const base = { camera: 'A', bytes: 0, takenAt: 0 };
    expect(snapshotNote({ ...base, sha256: 'ab', error: null })).toBeUndefined();
    expect(snapshotNote({ ...base, sha256: null, error: null })).toMatch(/budget/);
    expect(snapshotNote({ ...base, sha256: null, error: 'refused' })).toBe('No picture: refused');
  });
});
