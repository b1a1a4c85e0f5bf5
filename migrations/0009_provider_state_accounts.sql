-- The account a provider-state record belongs to (payload.accountId: sessions, grants, codes,
-- tokens), copied out of the payload like grant_id, so that everything one account holds can be
-- revoked at once (password reset, disabled user) without scanning the table.
-- No backfill: rows written before this migration keep NULL here. They are short-lived provider
-- state and expire on their own; until they do, revocation of their account misses them (unless
-- they hang off one of the account's Grant rows written after this migration).
ALTER TABLE oidc_payloads ADD COLUMN account_id text;

CREATE INDEX oidc_payloads_account_idx ON oidc_payloads (account_id) WHERE account_id IS NOT NULL;
