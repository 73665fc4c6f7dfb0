import type { Migration } from '../migrate';

export const m0181_deploy_stages: Migration = {
  version: 181,
  name: 'deploy: staged rollouts (the stage of each camera, why a deploy stopped)',
  sql: `
    -- 0 = the canary stage, 1 = the rest (a deploy without a canary has stage 0 only).
    ALTER TABLE deploy_targets ADD COLUMN stage INTEGER NOT NULL DEFAULT 0;
    -- Set when a failure stopped the rollout before every camera was tried.
    ALTER TABLE deploys ADD COLUMN stopped_reason TEXT;
  `,
};
