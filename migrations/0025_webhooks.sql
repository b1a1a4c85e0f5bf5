-- Webhooks (src/events/webhooks/): every audit event can be delivered to the URLs configured
-- here as signed JSON (Standard Webhooks). The signing secret is shared with the receiver, so it
-- is sealed (AES-256-GCM under ENCRYPTION_KEYS, src/events/webhooks/secret.ts), never stored in
-- clear. After a rotation the previous secret keeps signing beside the new one for a while, so
-- a receiver can switch without losing deliveries.
CREATE TABLE webhooks (
  id uuid PRIMARY KEY,
  url text NOT NULL,
  description text,
  -- Event names (login.failed) or prefixes (login.*); empty: every event.
  events text[] NOT NULL DEFAULT '{}',
  enabled boolean NOT NULL DEFAULT true,
  secret_sealed text NOT NULL,
  previous_secret_sealed text,
  previous_secret_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((previous_secret_sealed IS NULL) = (previous_secret_until IS NULL))
);

-- Every instance keeps the enabled webhooks in its configuration cache (src/cache/), which any
-- change drops, as for clients and roles (migration 0014).
CREATE TRIGGER webhooks_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON webhooks
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_config_changed();
