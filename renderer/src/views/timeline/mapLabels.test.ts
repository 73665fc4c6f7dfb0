import { describe, expect, it } from 'vitest';
import { layoutMapLabels, textBox, textWidth, LABEL_FONT, type Box, type FixedText } from './mapLabels';
import { boxesOverlap } from '../../components/labelPlacement';

const unit = 0.5;
const fs = unit * LABEL_FONT;

/** The box each placed label's text covers (what GroundMap draws at that baseline). */
function boxes(r: ReturnType<typeof layoutMapLabels>, text: (key: string) => string): { key: string; box: Box }[] {
  return [...r.at].map(([key, p]) => ({ key, box: textBox(text(key), p.x, p.y, fs) }));
}

describe('layoutMapLabels (the timeline ground map)', () => {
  // The demo's crowding: a zone name at a zone's corner with tracks right on it, tracks a metre apart.
  const zoneName: FixedText = { text: 'Loading dock', x: 30, y: -11.6, fontSize: fs };
  const tracks = [
    { id: 't2227', x: 30.5, y: 10.8, futures: [{ weight: 0.36, end: { x: 32, y: 10.2 } }] },
    { id: 't2409', x: 31.5, y: 10.4, futures: [{ weight: 0.33, end: { x: 30.2, y: 10 } }] },
    { id: 't2452', x: 31, y: 11.6, futures: [{ weight: 0.27, end: { x: 31.5, y: 12.5 } }, { weight: 0.05, end: { x: 29, y: 12 } }] },
    { id: 't2446', x: 31.2, y: 11.2, futures: [] },
  ];
  const text = (key: string): string => (key.startsWith('t:') ? key.slice(2) : '100%');

  it('puts no track or future label over a zone name, a dot, or another label', () => {
    const r = layoutMapLabels({ tracks, fixed: [zoneName], unit });
    const placed = boxes(r, text);
    for (const t of tracks) expect(r.at.has(`t:${t.id}`), t.id).toBe(true); // every id fits; a percentage may not
    const zone = textBox(zoneName.text, zoneName.x, zoneName.y, zoneName.fontSize);
    for (const { key, box } of placed) {
      expect(boxesOverlap(box, zone), `${key} over the zone name`).toBe(false);
      for (const t of tracks) {
        const dot = { x: t.x - 0.9 * unit, y: -t.y - 0.9 * unit, w: 1.8 * unit, h: 1.8 * unit };
        expect(boxesOverlap(box, dot), `${key} over ${t.id}'s dot`).toBe(false);
      }
    }
    for (let i = 0; i < placed.length; i++)
      for (let j = i + 1; j < placed.length; j++) expect(boxesOverlap(placed[i]!.box, placed[j]!.box), `${placed[i]!.key} over ${placed[j]!.key}`).toBe(false);
    // The faint future (5 %) gets no label at all; it is not "dropped", it never asked.
    expect(r.at.has('f:t2452:1')).toBe(false);
    expect(r.dropped.has('f:t2452:1')).toBe(false);
  });

  it('leaves out the less important label when there is no room, and says which', () => {
    // Six tracks on one spot of a 4 m × 4 m map: not every id and percentage fits.
    const crowded = Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, x: 2, y: -2, futures: [{ weight: 0.9, end: { x: 2.4, y: -2 } }] }));
    const r = layoutMapLabels({ tracks: crowded, fixed: [], unit, bounds: { x: 0, y: 0, w: 4, h: 4 } });
    const all = crowded.flatMap((t) => [`t:${t.id}`, `f:${t.id}:0`]);
    for (const k of all) expect(r.at.has(k) !== r.dropped.has(k), k).toBe(true);
    expect(r.dropped.size).toBeGreaterThan(0);
    // Track ids come before percentages.
    const placedIds = [...r.at.keys()].filter((k) => k.startsWith('t:')).length;
    expect(placedIds).toBeGreaterThan(0);
    expect(placedIds).toBeGreaterThanOrEqual(r.at.size - placedIds);
    for (const [key, p] of r.at) {
      const b = textBox(text(key), p.x, p.y, fs);
      expect(b.x >= 0 && b.y >= 0 && b.x + b.w <= 4 && b.y + b.h <= 4, key).toBe(true);
    }
  });

  it('estimates text width generously enough for the id it labels', () => {
    expect(textWidth('t2227', 10)).toBeCloseTo(31, 5);
  });
});
