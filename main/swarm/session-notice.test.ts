import { describe, expect, it } from 'vitest';
import type { IngestResult } from './coordinator';
import { createSessionNotices, NOTICE_INTERVAL_MS, sessionNoticeTopic } from './session-notice';

const refused = (session: number, reason: 'unknown_session' | 'bad_mac' = 'unknown_session'): IngestResult => ({
  accepted: false, reason, camera: 'ACCC8E0000C1', detail: '', label: reason === 'unknown_session' ? 'unknown session' : 'bad mac', outputs: [],
  ...(reason === 'unknown_session' ? { session: { key: '3f2a9c01d4e5b677', epoch: 7, session } } : {}),
});

describe('session notices: the desktop tells a camera its session is unknown', () => {
  it('one notice per camera session and second, naming the session and the desktop key; nothing for other refusals', () => {
    let t = 1_000;
    const sent: { topic: string; payload: string }[] = [];
    const notify = createSessionNotices({ desktopKeyId: '65cf5c9b1de5d41f', now: () => t, publish: (topic, payload) => (sent.push({ topic, payload }), true) });
    notify(refused(2));
    notify(refused(2)); // the next report in flight: no second notice yet
    notify(refused(2, 'bad_mac'));
    expect(sent).toEqual([{ topic: sessionNoticeTopic('ACCC8E0000C1'), payload: '{"v":1,"key":"3f2a9c01d4e5b677","epoch":7,"session":2,"desktopKey":"65cf5c9b1de5d41f"}' }]);
    notify(refused(3)); // another session: at once
    expect(sent).toHaveLength(2);
    t += NOTICE_INTERVAL_MS;
    notify(refused(3)); // still refused a second later: again
    expect(sent).toHaveLength(3);
  });

  it('a notice that could not go out (not connected) is tried again with the next refusal', () => {
    let up = false;
    const sent: string[] = [];
    const notify = createSessionNotices({ desktopKeyId: '65cf5c9b1de5d41f', now: () => 0, publish: (_t, p) => (up ? (sent.push(p), true) : false) });
    notify(refused(2));
    up = true;
    notify(refused(2));
    expect(sent).toHaveLength(1);
  });
});
