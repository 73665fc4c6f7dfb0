import type { Migration } from '../migrate';

export const m0150_deploy: Migration = {
  version: 150,
  name: 'deploy: builds, deploys, per-camera steps, what each camera runs',
  sql: `
    -- The .eap files themselves live in <dataDir>/builds/<sha256>.eap.
    CREATE TABLE deploy_builds (
      sha256 TEXT PRIMARY KEY,
      file_name TEXT NOT NULL,
      app_name TEXT NOT NULL,
      version TEXT NOT NULL,
      architecture TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      source TEXT NOT NULL CHECK (source IN ('native', 'file', 'camera')),
      problems TEXT NOT NULL DEFAULT '[]',
      added_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE deploys (
      id TEXT PRIMARY KEY,
      created_at INTEGER NOT NULL,
      finished_at INTEGER,
      user TEXT NOT NULL,
      build_sha TEXT NOT NULL REFERENCES deploy_builds (sha256),
      status TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'interrupted')),
      options TEXT NOT NULL DEFAULT '{}',
      retry_of TEXT
    ) STRICT;
    CREATE INDEX deploys_created ON deploys (created_at);
    -- One row per camera per deploy; every step is written before it is taken.
    CREATE TABLE deploy_targets (
      deploy_id TEXT NOT NULL REFERENCES deploys (id) ON DELETE CASCADE,
      camera_id TEXT NOT NULL,
      camera_name TEXT NOT NULL,
      phase TEXT NOT NULL,
      outcome TEXT NOT NULL,
      bytes_sent INTEGER NOT NULL DEFAULT 0,
      bytes_total INTEGER NOT NULL DEFAULT 0,
      message TEXT NOT NULL DEFAULT '',
      previous_version TEXT,
      previous_sha TEXT,
      final_version TEXT,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (deploy_id, camera_id)
    ) STRICT;
    -- What the app last verified on each camera, so a rollback knows which .eap to send back.
    CREATE TABLE deploy_installed (
      camera_id TEXT PRIMARY KEY,
      app_name TEXT NOT NULL,
      version TEXT NOT NULL,
      build_sha TEXT,
      recorded_at INTEGER NOT NULL
    ) STRICT;
  `,
};
