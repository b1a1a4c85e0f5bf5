-- Token signing keys as private JWKs. Active keys sign and are published; retired keys are
-- published only, so tokens they signed keep verifying until they expire.
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  alg text NOT NULL,
  jwk jsonb NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Secrets generated once per installation (development cookie keys), shared by every instance.
CREATE TABLE instance_secrets (
  name text PRIMARY KEY,
  value jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
