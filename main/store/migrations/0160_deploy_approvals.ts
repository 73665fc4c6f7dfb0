import type { Migration } from '../migrate';

export const m0160_deploy_approvals: Migration = {
  version: 160,
  name: 'deploy: room-approved deploy proposals, executed once',
  sql: `
    -- A deploy proposal's payload, checked when proposed; status moves pending → started (exactly
    -- once, by a passed decision) or pending → closed (rejected, vetoed, expired).
    CREATE TABLE deploy_approvals (
      proposal_id INTEGER PRIMARY KEY,
      room_id TEXT NOT NULL,
      build_sha TEXT NOT NULL,
      camera_ids TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'started', 'closed')),
      decision_id INTEGER,
      deploy_id TEXT,
      reported INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL
    ) STRICT;
    -- JSON {roomId, roomName, proposalId, decisionId} for a deploy a room decision started.
    ALTER TABLE deploys ADD COLUMN approval TEXT;
  `,
};
