import type { Migration } from '../migrate';

export const m0200_rooms: Migration = {
  version: 200,
  name: 'rooms: rooms, members, messages, tasks, proposals, votes, decisions, files, search; agent tokens',
  sql: `
    CREATE TABLE rooms (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      owner TEXT NOT NULL,
      roles TEXT NOT NULL DEFAULT '[]',
      veto_roles TEXT NOT NULL DEFAULT '[]',
      default_rule TEXT NOT NULL CHECK (default_rule IN ('majority', 'two-thirds', 'unanimous', 'weighted')),
      max_file_bytes INTEGER NOT NULL,
      quota_bytes INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE room_members (
      room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      member_id TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('human', 'agent', 'desktop')),
      name TEXT NOT NULL,
      roles TEXT NOT NULL DEFAULT '[]',
      weight REAL NOT NULL DEFAULT 1,
      last_read_id INTEGER NOT NULL DEFAULT 0,
      joined_at INTEGER NOT NULL,
      PRIMARY KEY (room_id, member_id)
    ) STRICT;
    CREATE INDEX room_members_member ON room_members (member_id);

    CREATE TABLE room_channels (
      room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (room_id, name)
    ) STRICT;

    CREATE TABLE room_messages (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      channel TEXT NOT NULL,
      author_kind TEXT NOT NULL,
      author_id TEXT NOT NULL,
      author_name TEXT NOT NULL,
      act TEXT NOT NULL CHECK (act IN ('inform', 'request', 'propose', 'accept', 'reject', 'question')),
      text TEXT NOT NULL,
      reply_to INTEGER REFERENCES room_messages(id),
      mentions TEXT NOT NULL DEFAULT '[]',
      attachments TEXT NOT NULL DEFAULT '[]',
      signed INTEGER NOT NULL DEFAULT 0,
      verified INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX room_messages_room ON room_messages (room_id, id);
    CREATE INDEX room_messages_reply ON room_messages (reply_to) WHERE reply_to IS NOT NULL;

    CREATE VIRTUAL TABLE room_messages_fts USING fts5 (text, content = 'room_messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
    CREATE TRIGGER room_messages_ai AFTER INSERT ON room_messages BEGIN
      INSERT INTO room_messages_fts (rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER room_messages_ad AFTER DELETE ON room_messages BEGIN
      INSERT INTO room_messages_fts (room_messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;

    -- Delivery acknowledgements, per recipient per room: a room's messages reach a recipient in id
    -- order, so "delivered up to id N" acknowledges every message up to N for that recipient.
    CREATE TABLE room_deliveries (
      room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      member_id TEXT NOT NULL,
      delivered_upto INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (room_id, member_id)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE room_tasks (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      title TEXT NOT NULL,
      assignee TEXT,
      progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
      done INTEGER NOT NULL DEFAULT 0,
      created_by TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX room_tasks_room ON room_tasks (room_id, id);

    CREATE TABLE room_proposals (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      message_id INTEGER NOT NULL REFERENCES room_messages(id),
      kind TEXT NOT NULL DEFAULT 'general' CHECK (kind IN ('general', 'deploy')),
      title TEXT NOT NULL,
      subject TEXT NOT NULL,
      outcome TEXT NOT NULL,
      rule TEXT NOT NULL CHECK (rule IN ('majority', 'two-thirds', 'unanimous', 'weighted')),
      deadline INTEGER,
      status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'passed', 'rejected', 'vetoed', 'expired')),
      reason TEXT,
      created_by TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      closed_at INTEGER
    ) STRICT;
    CREATE INDEX room_proposals_room ON room_proposals (room_id, id);
    CREATE INDEX room_proposals_open ON room_proposals (status, deadline);

    -- The weight is copied from the member row when the vote is cast: the owner sets it, never the voter.
    CREATE TABLE room_votes (
      proposal_id INTEGER NOT NULL REFERENCES room_proposals(id) ON DELETE CASCADE,
      member_id TEXT NOT NULL,
      member_name TEXT NOT NULL,
      choice TEXT NOT NULL CHECK (choice IN ('yes', 'no', 'abstain')),
      weight REAL NOT NULL,
      veto INTEGER NOT NULL DEFAULT 0,
      cast_at INTEGER NOT NULL,
      PRIMARY KEY (proposal_id, member_id)
    ) STRICT;

    CREATE TABLE room_decisions (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      proposal_id INTEGER NOT NULL UNIQUE REFERENCES room_proposals(id),
      title TEXT NOT NULL,
      subject TEXT NOT NULL,
      outcome TEXT NOT NULL,
      rule TEXT NOT NULL,
      record TEXT NOT NULL,
      contradicts TEXT NOT NULL DEFAULT '[]',
      warning TEXT,
      decided_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX room_decisions_subject ON room_decisions (room_id, subject);

    CREATE VIRTUAL TABLE room_decisions_fts USING fts5 (title, outcome, subject, content = 'room_decisions', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
    CREATE TRIGGER room_decisions_ai AFTER INSERT ON room_decisions BEGIN
      INSERT INTO room_decisions_fts (rowid, title, outcome, subject) VALUES (new.id, new.title, new.outcome, new.subject);
    END;

    -- Contents live beside the database in files/<sha256>; the row is the reference.
    CREATE TABLE room_files (
      id TEXT PRIMARY KEY,
      room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      sha256 TEXT NOT NULL,
      size INTEGER NOT NULL,
      mime TEXT NOT NULL,
      uploaded_by TEXT NOT NULL,
      created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX room_files_room ON room_files (room_id);

    -- Agent tokens: only the SHA-256 of the token is kept; id is the lookup prefix shown in lists.
    CREATE TABLE agent_tokens (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      hash BLOB NOT NULL,
      scopes TEXT NOT NULL,
      roles TEXT NOT NULL DEFAULT '[]',
      rate_per_minute INTEGER NOT NULL,
      burst INTEGER NOT NULL,
      public_key TEXT,
      created_at INTEGER NOT NULL,
      expires_at INTEGER,
      revoked_at INTEGER,
      last_used_at INTEGER
    ) STRICT;
  `,
};
