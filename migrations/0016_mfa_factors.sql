-- Second factors of an account (issue 13): authenticator apps (TOTP, RFC 6238) and, next,
-- passkeys and security keys (WebAuthn). A TOTP secret is stored sealed with a key from the
-- configuration (src/mfa/secret-box.ts), never in the clear.
CREATE TABLE mfa_factors (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('totp', 'webauthn')),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  secret_sealed text,
  -- The last time step a code was accepted for: a code, and every older one, is good once.
  last_used_step bigint,
  credential_id text UNIQUE,
  public_key bytea,
  sign_count bigint,
  transports text[],
  backed_up boolean,
  -- Null while enrolment waits for its first code; only confirmed factors sign in.
  confirmed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  CHECK (kind <> 'totp' OR secret_sealed IS NOT NULL),
  CHECK (kind <> 'webauthn' OR (credential_id IS NOT NULL AND public_key IS NOT NULL))
);
CREATE INDEX mfa_factors_account ON mfa_factors (account_id);

-- Single-use recovery codes, kept only as keyed hashes (src/mfa/recovery-codes.ts).
CREATE TABLE mfa_recovery_codes (
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  code_hash text NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, code_hash)
);
