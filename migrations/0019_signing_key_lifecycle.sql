-- Signing keys get a lifecycle (src/oidc/keys/): `next` (published in /jwks, not signing yet),
-- `active` (signing; one per algorithm), `retired` (published until every token it signed can
-- have expired), `removed` (no longer published; its private half erased, the row kept as
-- history). The private JWK is sealed (AES-256-GCM, src/oidc/keys/sealing.ts) under the
-- configured ENCRYPTION_KEYS: no migration can do that, so `jwk` keeps the clear keys of older
-- versions until the first start seals them and empties it; nothing writes it again.
ALTER TABLE signing_keys RENAME COLUMN status TO state;
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_status_check;
ALTER TABLE signing_keys ALTER COLUMN state DROP DEFAULT;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_state_check CHECK (state IN ('next', 'active', 'retired', 'removed'));
ALTER TABLE signing_keys ALTER COLUMN jwk DROP NOT NULL;
ALTER TABLE signing_keys
  -- The public half, what /jwks publishes; readable without the encryption key.
  ADD COLUMN public_jwk jsonb,
  ADD COLUMN private_jwk_sealed text,
  -- A next key starts signing at this time.
  ADD COLUMN activate_after timestamptz,
  ADD COLUMN activated_at timestamptz,
  ADD COLUMN retired_at timestamptz,
  -- A retired key leaves /jwks at this time: its tokens have all expired by then.
  ADD COLUMN unpublish_after timestamptz,
  ADD COLUMN removed_at timestamptz;

-- Keys from before signed since they were made; retired ones get their deadline on first start.
UPDATE signing_keys SET activated_at = created_at WHERE state = 'active';

CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE state = 'active';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (alg) WHERE state = 'next';

-- Every instance holds the published keys in memory (and an oidc-provider built with them): a
-- change by any instance, the CLI or plain SQL announces itself when it commits, as the config
-- tables do (0014), on a channel of its own.
CREATE FUNCTION idp_notify_signing_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('idp_signing_keys_changed', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON signing_keys
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_signing_keys_changed();
