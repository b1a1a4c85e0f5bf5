-- What a person allowed a client, kept beyond the browser session so the next sign-in to the
-- same client skips the consent page. resource_scopes maps a resource indicator to its scopes.
CREATE TABLE consents (
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  client_id text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  scopes text[] NOT NULL DEFAULT '{}',
  claims text[] NOT NULL DEFAULT '{}',
  resource_scopes jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, client_id)
);
