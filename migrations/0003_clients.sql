-- Relying parties. metadata holds the RFC 7591 client metadata oidc-provider validates
-- (client_secret included: client_secret_basic/post compare it in plain form).
CREATE TABLE clients (
  id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
  metadata jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
