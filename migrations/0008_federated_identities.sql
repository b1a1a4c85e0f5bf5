-- Accounts at upstream identity providers (Google, GitHub, OIDC) linked to local accounts.
-- The local account id stays the `sub`; a link only adds a way in.
CREATE TABLE federated_identities (
  upstream_id text NOT NULL,
  -- The upstream's stable id for the person (OIDC sub, GitHub numeric user id).
  subject text NOT NULL,
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  -- The upstream's email when the link was made, for operators reviewing links.
  email text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (upstream_id, subject),
  -- One identity per upstream per account: a second Google account (an email address recycled
  -- at the upstream, say) cannot attach itself to an account that already has one.
  UNIQUE (account_id, upstream_id)
);
