-- Each instance remembers what oidc-provider reads of an account on every token request (its
-- claims, whether it is disabled, sessions_valid_after: AccountService.forProvider). A change to
-- an account row announces itself on the config channel as `accounts:<id>` when its transaction
-- commits, so every instance forgets that one account and keeps the rest. Row-level, so the
-- payload can name the account; PostgreSQL folds identical notifications of one transaction. A
-- TRUNCATE names no row and says `accounts`, which drops everything cached.
CREATE FUNCTION idp_notify_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM pg_notify('idp_config_changed', 'accounts:' || NEW.id::text);
  ELSE
    PERFORM pg_notify('idp_config_changed', 'accounts:' || OLD.id::text);
    IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
      PERFORM pg_notify('idp_config_changed', 'accounts:' || NEW.id::text);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER accounts_changed AFTER INSERT OR UPDATE OR DELETE ON accounts
  FOR EACH ROW EXECUTE FUNCTION idp_notify_account_changed();

CREATE FUNCTION idp_notify_accounts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('idp_config_changed', 'accounts');
  RETURN NULL;
END
$$;

CREATE TRIGGER accounts_truncated AFTER TRUNCATE ON accounts
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_accounts_truncated();
