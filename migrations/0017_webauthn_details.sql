-- Passkeys and security keys (issue 13, WebAuthn Level 3) need three facts 0016 does not keep.
-- backup_eligible is the BE flag, fixed when the credential is made: every later assertion must
-- carry the same one (WebAuthn L3 §7.2), and it tells a synced passkey (a
-- software-secured key, amr "swk") from a device-bound one ("hwk", RFC 8176). device_type is
-- the same fact in the words people and simplewebauthn use; aaguid names the authenticator model.
ALTER TABLE mfa_factors
  ADD COLUMN backup_eligible boolean,
  ADD COLUMN aaguid uuid,
  ADD COLUMN device_type text CHECK (device_type IN ('singleDevice', 'multiDevice')),
  ADD CHECK (device_type IS NULL OR backup_eligible IS NULL OR (device_type = 'multiDevice') = backup_eligible);
