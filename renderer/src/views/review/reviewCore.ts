// The review list's keyboard rules and wording, apart from React so they are tested.
import type { ReviewItem } from '../../../../preload/contract';

/** The item selected after a key press, or undefined when the key is not a move. */
export function moveSelection(ids: readonly number[], current: number | undefined, key: string): number | undefined {
  if (!ids.length) return undefined;
  const i = current === undefined ? -1 : ids.indexOf(current);
  switch (key) {
    case 'ArrowDown':
    case 'j':
      return ids[Math.min(ids.length - 1, i + 1)];
    case 'ArrowUp':
    case 'k':
      return ids[Math.max(0, i < 0 ? 0 : i - 1)];
    case 'Home':
      return ids[0];
    case 'End':
      return ids[ids.length - 1];
    default:
      return undefined;
  }
}

/** What a snapshot slot shows when it has no picture. */
export function snapshotNote(s: ReviewItem['snapshots'][number]): string | undefined {
  if (s.sha256) return undefined;
  if (s.error === 'Taking the picture…') return s.error;
  if (s.error) return `No picture: ${s.error}`;
  return 'Removed to stay under the snapshot budget (oldest go first).';
}

/** "12:01:05–12:01:40" or "12:01:05, ongoing". */
export function span(item: Pick<ReviewItem, 'startTs' | 'endTs' | 'closed'>): string {
  const t = (ts: number): string => new Date(ts).toLocaleTimeString(undefined, { hour12: false });
  const day = new Date(item.startTs).toLocaleDateString(undefined, { dateStyle: 'medium' });
  return `${day} ${t(item.startTs)}${item.closed ? `–${t(item.endTs)}` : ', ongoing'}`;
}
