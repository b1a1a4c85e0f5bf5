-- A third kind of mailed link: confirming a new sign-in address from the account console
-- (issue 14). The link goes to the new address and carries it in `email`; the account's address
-- changes only when the link is used, by the account that asked for it.
ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_purpose_check;
ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_purpose_check CHECK (purpose IN ('verify_email', 'reset_password', 'change_email'));
