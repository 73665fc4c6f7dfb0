import { useEffect, useState } from 'react';
import type { ReviewItem } from '../../../../preload/contract';
import { ignoreBecause } from '../../data/ignore';
import { transport } from '../../transport';
import { snapshotNote } from './reviewCore';

// Pictures are immutable (named by their hash): fetched once per page and kept as object URLs.
const urls = new Map<string, Promise<string>>();
function urlOf(sha256: string): Promise<string> {
  let p = urls.get(sha256);
  if (!p) {
    p = transport()
      .call('review.snapshot', { sha256 })
      .then((r) => URL.createObjectURL(new Blob([Uint8Array.from(atob(r.dataBase64), (c) => c.charCodeAt(0))], { type: r.mime })));
    // A failed read is not kept: the next showing asks again.
    p.catch(() => urls.delete(sha256));
    urls.set(sha256, p);
  }
  return p;
}

export function Snapshot({ snap, label }: { snap: ReviewItem['snapshots'][number]; label: string }) {
  const [src, setSrc] = useState<string>();
  const [failed, setFailed] = useState<string>();
  useEffect(() => {
    if (!snap.sha256) return;
    let live = true;
    urlOf(snap.sha256).then(
      (u) => live && setSrc(u),
      (err: unknown) => {
        if (live) setFailed((err as Error).message);
        ignoreBecause('the slot says the picture could not be read')(err);
      },
    );
    return () => {
      live = false;
    };
  }, [snap.sha256]);
  const note = failed ?? snapshotNote(snap);
  return (
    <figure className="review-snap">
      {src ? <img src={src} alt={`Snapshot from ${label}`} width={320} height={180} /> : <div className="review-snap-empty">{note ?? 'Loading…'}</div>}
      <figcaption>{label}</figcaption>
    </figure>
  );
}
