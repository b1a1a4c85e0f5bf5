-- Resource servers (RFC 8707 resource indicators) and which of their scopes each client may get.
CREATE TABLE api_resources (
  indicator text PRIMARY KEY CHECK (length(indicator) BETWEEN 1 AND 2048),
  name text,
  scopes text[] NOT NULL DEFAULT '{}',
  access_token_ttl integer NOT NULL DEFAULT 3600 CHECK (access_token_ttl > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE client_resource_scopes (
  client_id text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  indicator text NOT NULL REFERENCES api_resources (indicator) ON DELETE CASCADE,
  scopes text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, indicator)
);
