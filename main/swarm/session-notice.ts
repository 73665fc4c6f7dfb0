// "Your session is unknown here" (docs/protocol.md, "Envelope v3", session notices): when a camera's
// v3 report names a session this desktop does not hold, the desktop tells that camera on
// omnisight/desktop/session/<SERIAL>, so it opens and announces a new session (v2 meanwhile) instead
// of being refused until its next reconnect or its 30 s repetition. Plain JSON, as every desktop
// message: on the embedded broker only the desktop may publish there; on an open external broker a
// forged notice can only make a camera announce a new session (and send v2 until its PUBACK).
import type { IngestResult } from './coordinator';

export const sessionNoticeTopic = (serial: string): string => `omnisight/desktop/session/${serial}`;

/** At most one notice per camera session this often (the reports in flight each get refused). */
export const NOTICE_INTERVAL_MS = 1000;

/** {"v":1,"key","epoch","session","desktopKey"}: session S of the camera's (key, epoch) is unknown to the desktop whose key id is desktopKey. */
export const sessionNotice = (n: { key: string; epoch: number; session: number; desktopKey: string }): string =>
  JSON.stringify({ v: 1, key: n.key, epoch: n.epoch, session: n.session, desktopKey: n.desktopKey });

/** Feed it every ingest result; it publishes a notice for an "unknown session" refusal (rate-limited per camera session). */
export function createSessionNotices(deps: { desktopKeyId: string; publish: (topic: string, payload: string) => boolean; now: () => number }): (r: IngestResult) => void {
  const last = new Map<string, { ref: string; at: number }>();
  return (r) => {
    if (r.accepted || r.reason !== 'unknown_session' || !r.session || !r.camera) return;
    const ref = `${r.session.key}/${r.session.epoch}/${r.session.session}`;
    const t = deps.now();
    const prev = last.get(r.camera);
    if (prev && prev.ref === ref && t - prev.at < NOTICE_INTERVAL_MS) return;
    if (last.size >= 10_000) last.clear();
    if (deps.publish(sessionNoticeTopic(r.camera), sessionNotice({ ...r.session, desktopKey: deps.desktopKeyId }))) last.set(r.camera, { ref, at: t });
  };
}
