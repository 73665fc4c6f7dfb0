import type { Migration } from '../migrate';

export const m0260_rooms_votes: Migration = {
  version: 260,
  name: 'rooms: a vote is given by the owner (agents join without one); an approver role for actions on cameras',
  sql: `
    -- Whether the member may vote. People may; agents and Claude Desktop join without a vote until
    -- the room's owner gives them one. Agents that joined before this migration lose theirs: the
    -- owner gives it back where it was meant.
    ALTER TABLE room_members ADD COLUMN can_vote INTEGER NOT NULL DEFAULT 1 CHECK (can_vote IN (0, 1));
    UPDATE room_members SET can_vote = 0 WHERE kind != 'human';
    -- A proposal that acts on cameras (a deploy) passes only with a yes from the owner or from a
    -- person holding this role (NULL: the owner alone).
    ALTER TABLE rooms ADD COLUMN approver_role TEXT;
  `,
};
