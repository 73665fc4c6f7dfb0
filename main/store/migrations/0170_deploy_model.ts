import type { Migration } from '../migrate';

export const m0170_deploy_model: Migration = {
  version: 170,
  name: 'deploy: a federated model version shipped with a deploy, and which camera received it',
  sql: `
    -- The model version the deploy's package carries (null: none).
    ALTER TABLE deploys ADD COLUMN model_version INTEGER;
    -- The model version verified on the camera (null: none, or it rolled back).
    ALTER TABLE deploy_targets ADD COLUMN model_version INTEGER;
    -- A build made by adding a model to another build: which build and which model version.
    ALTER TABLE deploy_builds ADD COLUMN base_sha TEXT;
    ALTER TABLE deploy_builds ADD COLUMN model_version INTEGER;
  `,
};
