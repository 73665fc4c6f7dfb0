// What the deploy confirmation says: the build, each camera with what changes on it, where
// AllowUnsigned is switched, and the stages of the rollout. Pure, so it is tested without a DOM.
import type { DeployBuild, PreflightRow } from '../../../../preload/contract';

export interface PlanOptions {
  allowUnsigned: boolean;
  allowDowngrade: boolean;
  canary: number;
  modelVersion: number | null;
}

export interface DeployPlan {
  build: string;
  version: string;
  summary: string;
  cameras: { cameraId: string; text: string; downgrade: boolean }[];
  /** Cameras where this deploy switches AllowUnsigned on. */
  unsigned: string[];
  /** Cameras the preflight blocked: not part of the deploy. */
  skipped: string[];
  stages: number[];
}

/** Canary set first, then the rest (as the service stages them). */
export function planStages(cameras: number, canary: number): number[] {
  if (cameras <= 0) return [];
  if (canary <= 0 || canary >= cameras) return [cameras];
  return [canary, cameras - canary];
}

export function stagesText(stages: readonly number[]): string {
  if (stages.length === 0) return 'No camera to deploy to.';
  if (stages.length === 1) return `One stage of ${stages[0]} camera(s); the rollout stops at the first camera that fails.`;
  return `Stage 1 (canary): ${stages[0]} camera(s), verified before stage 2: ${stages[1]} camera(s); the rollout stops at the first camera that fails.`;
}

export function deployPlan(build: DeployBuild, rows: readonly PreflightRow[], o: PlanOptions): DeployPlan {
  const ok = rows.filter((r) => r.ok);
  const what = `${build.appName} ${build.version}${o.modelVersion !== null ? ` with model v${o.modelVersion}` : ''}`;
  const cameras = ok.map((r) => {
    const from = r.installedVersion ? `${r.installedVersion}` : `no ${build.appName}`;
    const changes = [`${from} → ${build.version}`];
    if (r.downgrade) changes.push('downgrade');
    if (r.allowUnsigned === false && o.allowUnsigned) changes.push('AllowUnsigned switched on');
    if (r.installedVersion === build.version) changes.push('reinstalled');
    return { cameraId: r.cameraId, text: `${r.name}: ${changes.join(', ')}`, downgrade: !!r.downgrade };
  });
  return {
    build: `${build.fileName} (${what})`,
    version: build.version,
    summary: `${build.fileName}, sha256 ${build.sha256.slice(0, 12)}…, ${build.architecture}: each camera below is uploaded ${what}, started and verified.`,
    cameras,
    unsigned: o.allowUnsigned ? ok.filter((r) => r.allowUnsigned === false).map((r) => r.name) : [],
    skipped: rows.filter((r) => !r.ok).map((r) => r.name),
    stages: planStages(ok.length, o.canary),
  };
}

/**
 * Why Deploy cannot be pressed yet, in the order the steps are done (undefined: it can). A greyed
 * button alone left people guessing which step was missing.
 */
export function deployBlocker(s: { build: boolean; selected: number; checking: boolean; checked: readonly Pick<PreflightRow, 'ok'>[] | undefined; running: boolean }): string | undefined {
  if (s.running) return 'A deploy is running: wait for it to end or cancel it below.';
  const missing = [!s.build && 'a build (1. Build)', s.selected === 0 && 'at least one camera (2. Cameras)'].filter(Boolean);
  if (missing.length) return `Deploy waits for ${missing.join(' and ')}, then a check.`;
  if (s.checking) return 'Deploy waits for the check to finish.';
  if (!s.checked) return `Deploy waits for a check: press Check ${s.selected} camera(s).`;
  if (s.checked.every((r) => !r.ok)) return 'No checked camera can take this build: see the reasons in the table, change the options and check again.';
  return undefined;
}
