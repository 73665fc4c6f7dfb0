import type { Migration } from '../migrate';

export const m0261_agent_nonces: Migration = {
  version: 261,
  name: 'agents: nonces of signed messages, kept across restarts (a signature is accepted once)',
  sql: `
    -- key: token id and public key; ts: the signer's time. Rows older than the acceptance window
    -- can no longer pass and are swept.
    CREATE TABLE agent_nonces (
      key TEXT NOT NULL,
      nonce TEXT NOT NULL,
      ts INTEGER NOT NULL,
      PRIMARY KEY (key, nonce)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX agent_nonces_ts ON agent_nonces (ts);
  `,
};
