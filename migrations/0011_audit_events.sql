-- Security events for operators and incident response. Rows are only ever inserted.
CREATE TABLE audit_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  -- login.succeeded, login.failed, account.locked, account.registered, email.verified,
  -- password_reset.requested, password_reset.completed, password.changed, ...
  event text NOT NULL,
  -- Why, for failures (bad_password, unknown_email, locked, ...).
  reason text,
  -- Kept when the account is deleted, so its history stays readable.
  account_id uuid,
  -- The address the event was about, as entered (login and reset requests for unknown emails too).
  email text,
  ip text,
  user_agent text,
  details jsonb
);

CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at);
CREATE INDEX audit_events_account_idx ON audit_events (account_id, occurred_at) WHERE account_id IS NOT NULL;
CREATE INDEX audit_events_email_idx ON audit_events (lower(email), occurred_at) WHERE email IS NOT NULL;
