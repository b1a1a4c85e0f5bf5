-- When everything an account held was last revoked (password reset, disable, "sign out
-- everywhere"), in epoch milliseconds of the provider's clock. A session or token established
-- before it is refused wherever it is presented, so a request already in flight when the
-- revocation ran cannot bring back the session or grant it had loaded (src/oidc/find-account.ts).
ALTER TABLE accounts ADD COLUMN sessions_valid_after bigint;
