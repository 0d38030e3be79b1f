-- The gateway's identity store: users and their API tokens, and device tokens. Nothing else lives
-- in the gateway's database; the services never see it.

-- People who use the API or the web UI. Never deleted: tokens and audit trails keep pointing at
-- them. A deactivated user's tokens stop working at once (checked at each verification).
CREATE TABLE users (
  id              uuid        PRIMARY KEY,
  name            text        NOT NULL,
  email           text,
  role            text        NOT NULL CHECK (role IN ('viewer', 'technician', 'operator', 'admin')),
  active          boolean     NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL,
  deactivated_at  timestamptz
);
CREATE UNIQUE INDEX users_name_key ON users (lower(name));

-- API tokens (of a user) and device tokens (role 'device', scoped to one asset or to the fleet).
-- Only the SHA-256 of the secret is stored: the secret is 32 random bytes, so a fast hash is
-- enough (nobody can search a 2^256 space), and verification stays cheap on every request.
CREATE TABLE api_tokens (
  id            uuid        PRIMARY KEY,
  secret_hash   bytea       NOT NULL UNIQUE,
  name          text        NOT NULL,
  role          text        NOT NULL CHECK (role IN ('viewer', 'technician', 'operator', 'admin', 'device')),
  user_id       uuid        REFERENCES users (id),
  -- Device tokens only: the one asset they may send readings for; NULL with role 'device' is a
  -- fleet token (any asset).
  asset_id      uuid,
  created_by    text        NOT NULL,
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz,
  last_used_at  timestamptz,
  revoked_at    timestamptz,
  -- A user's token always has its user; a device token may name who it was issued for.
  CHECK (role = 'device' OR user_id IS NOT NULL),
  CHECK (role = 'device' OR asset_id IS NULL)
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, created_at);
