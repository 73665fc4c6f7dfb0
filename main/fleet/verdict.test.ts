import { describe, expect, it } from 'vitest';
import { acceptanceVerdict, compareVersions, stageSizes, type AcceptanceExpectation, type CameraAcceptance } from './verdict';

const since = 10_000;
const expectNew: AcceptanceExpectation = { version: '1.3.0', key: 'aa11bb22cc33dd44', since, before: { accepted: 40, epoch: 7 }, epoch: 8 };
const good: CameraAcceptance = { serial: 'S', key: 'aa11bb22cc33dd44', epoch: 8, version: '1.3.0', firstAcceptedAt: since + 100, lastAcceptedAt: since + 900, accepted: 43, refused: 0 };

describe('what verified means', () => {
  it('holds only when the swarm accepted the new version under the enrolled key and a fresh epoch', () => {
    expect(acceptanceVerdict(good, expectNew)).toEqual({ ok: true });
  });

  it('names the check that fails', () => {
    const fail = (acc: Partial<CameraAcceptance> | undefined, e: Partial<AcceptanceExpectation> = {}) => {
      const v = acceptanceVerdict(acc && { ...good, ...acc }, { ...expectNew, ...e });
      return v.ok ? 'ok' : v.check;
    };
    expect(fail(undefined)).toBe('accepted');
    expect(fail({}, { key: undefined })).toBe('key');
    // The state of the incident: "16 verified" while the swarm refused every report.
    expect(fail({ lastAcceptedAt: since - 5, firstAcceptedAt: since - 100, lastRefusal: { reason: 'replay (old epoch)', at: since + 50 } })).toBe('refused');
    expect(acceptanceVerdict({ ...good, lastAcceptedAt: since - 5, lastRefusal: { reason: 'bad signature', at: since + 50 } }, expectNew)).toMatchObject({ reason: expect.stringMatching(/refused.*bad signature/) });
    expect(fail({ key: 'ffffffffffffffff' })).toBe('key');
    expect(fail({ version: '1.2.0' })).toBe('version');
    expect(fail({ epoch: 7 })).toBe('epoch');
    expect(fail({ epoch: 9 })).toBe('epoch'); // not the epoch the running app reports
    expect(fail({ firstAcceptedAt: since - 1 })).toBe('accepted');
    expect(fail({ accepted: 41 })).toBe('accepted');
    // Accepted once, refused since: it is being refused now.
    expect(fail({ lastRefusal: { reason: 'unknown key', at: since + 1000 } })).toBe('refused');
    // A refusal before the last acceptance does not count against it.
    expect(fail({ lastRefusal: { reason: 'replay', at: since + 50 } })).toBe('ok');
    // Accepted and counted, but quarantined by the new app's own conflicting reports: ignored.
    expect(fail({ quarantined: { reason: 'two classes for one track and time', at: since + 300 } })).toBe('quarantined');
    // A quarantine from before the install is not the new version's doing (it may be the fix).
    expect(fail({ quarantined: { reason: 'two classes for one track and time', at: since - 300 } })).toBe('ok');
  });

  it('does not ask for a fresh epoch when the app was not restarted (a rollback to the app still running)', () => {
    const still = { ...good, epoch: 7, firstAcceptedAt: since - 60_000 };
    expect(acceptanceVerdict(still, { ...expectNew, before: { accepted: 40, epoch: undefined }, epoch: 7, restarted: false })).toEqual({ ok: true });
    expect(acceptanceVerdict(still, { ...expectNew, before: { accepted: 40, epoch: undefined }, epoch: 7 })).toMatchObject({ ok: false, check: 'accepted' });
  });
});

describe('guardrails', () => {
  it('stages a canary set first, then the rest', () => {
    expect(stageSizes(16, 1)).toEqual([1, 15]);
    expect(stageSizes(16, 4)).toEqual([4, 12]);
    expect(stageSizes(16, 0)).toEqual([16]);
    expect(stageSizes(2, 5)).toEqual([2]);
    expect(stageSizes(0, 1)).toEqual([]);
  });

  it('compares versions by number, so a downgrade is recognised', () => {
    expect(compareVersions('1.10.0', '1.9.2')).toBe(1);
    expect(compareVersions('1.2.0', '1.2.0')).toBe(0);
    expect(compareVersions('1.0.0', '1.2.0')).toBe(-1);
    expect(compareVersions('2', '1.9.9')).toBe(1);
  });
});
