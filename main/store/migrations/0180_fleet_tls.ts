import type { Migration } from '../migrate';

export const m0180_fleet_tls: Migration = {
  version: 180,
  name: 'fleet: the HTTPS certificate pinned at enrolment (trust on first use) and when the key was enrolled',
  sql: `
    -- The camera's HTTPS port: identity.cgi is read only over HTTPS (443 on Axis cameras).
    ALTER TABLE cameras ADD COLUMN https_port INTEGER NOT NULL DEFAULT 443 CHECK (https_port BETWEEN 1 AND 65535);
    -- SHA-256 of the DER certificate accepted at enrolment, colon-separated upper-case hex.
    ALTER TABLE cameras ADD COLUMN cert_fingerprint TEXT;
    -- How it was accepted: 'pin' (the user trusted the fingerprint) or 'ca' (chains to a trusted CA).
    ALTER TABLE cameras ADD COLUMN cert_trust TEXT CHECK (cert_trust IN ('pin', 'ca'));
    ALTER TABLE cameras ADD COLUMN cert_pinned_at INTEGER;
    -- Another certificate seen since: nothing is read from the camera until the user decides.
    ALTER TABLE cameras ADD COLUMN cert_seen TEXT;
    ALTER TABLE cameras ADD COLUMN cert_seen_at INTEGER;
    ALTER TABLE cameras ADD COLUMN key_enrolled_at INTEGER;
  `,
};
