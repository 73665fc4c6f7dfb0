import { describe, expect, it } from 'vitest';
import { parseCameraId, type DeployBuild, type PreflightRow } from '../../../../preload/contract';
import { deployBlocker, deployPlan, planStages, stagesText } from './plan';

const build: DeployBuild = { sha256: 'a'.repeat(64), fileName: 'OmniSight_1_3_0_aarch64.eap', appName: 'omnisight', version: '1.3.0', architecture: 'aarch64', bytes: 1, source: 'native', addedAt: 0, problems: [] };
const row = (name: string, o: Partial<PreflightRow>): PreflightRow => ({
  cameraId: parseCameraId(name), name, model: 'Q1656', firmware: '12.0.91', reachable: true, role: 'administrator', architecture: 'aarch64', soc: 'Axis Artpec-8',
  archOk: true, socOk: true, allowUnsigned: true, installedVersion: '1.2.0', installedStatus: 'Running', freeBytes: null, blockers: [], notes: [], ok: true, ...o,
});

describe('deploy confirmation', () => {
  it('names the build, each camera with what changes, AllowUnsigned where switched, and the stages', () => {
    const p = deployPlan(build, [row('A', { allowUnsigned: false }), row('B', { installedVersion: '1.4.0', downgrade: true }), row('C', { ok: false, blockers: ['x'] }), row('D', { installedVersion: null })], {
      allowUnsigned: true, allowDowngrade: true, canary: 1, modelVersion: null,
    });
    expect(p.build).toBe('OmniSight_1_3_0_aarch64.eap (omnisight 1.3.0)');
    expect(p.cameras.map((c) => c.text)).toEqual(['A: 1.2.0 → 1.3.0, AllowUnsigned switched on', 'B: 1.4.0 → 1.3.0, downgrade', 'D: no omnisight → 1.3.0']);
    expect(p.unsigned).toEqual(['A']);
    expect(p.skipped).toEqual(['C']);
    expect(p.stages).toEqual([1, 2]);
    expect(stagesText(p.stages)).toMatch(/Stage 1 \(canary\): 1 camera.*stage 2: 2 camera/);
  });

  it('does not claim AllowUnsigned is switched when the user did not ask', () => {
    expect(deployPlan(build, [row('A', { allowUnsigned: false })], { allowUnsigned: false, allowDowngrade: false, canary: 0, modelVersion: 2 }).unsigned).toEqual([]);
    expect(planStages(5, 0)).toEqual([5]);
    expect(stagesText([5])).toMatch(/One stage of 5/);
  });
});

describe('why Deploy is disabled', () => {
  const base = { build: true, selected: 2, checking: false, checked: [{ ok: true }], running: false };
  it('says nothing when Deploy can be pressed', () => expect(deployBlocker(base)).toBeUndefined());
  it('names each missing step, in order', () => {
    expect(deployBlocker({ ...base, build: false, selected: 0, checked: undefined })).toBe('Deploy waits for a build (1. Build) and at least one camera (2. Cameras), then a check.');
    expect(deployBlocker({ ...base, selected: 0, checked: undefined })).toBe('Deploy waits for at least one camera (2. Cameras), then a check.');
    expect(deployBlocker({ ...base, checked: undefined })).toBe('Deploy waits for a check: press Check 2 camera(s).');
    expect(deployBlocker({ ...base, checking: true, checked: undefined })).toBe('Deploy waits for the check to finish.');
  });
  it('a check that passed no camera, and a running deploy, say so', () => {
    expect(deployBlocker({ ...base, checked: [{ ok: false }] })).toMatch(/^No checked camera can take this build/);
    expect(deployBlocker({ ...base, running: true })).toMatch(/^A deploy is running/);
  });
});
