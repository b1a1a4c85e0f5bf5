-- Every instance caches clients, API resources and role lookups in memory (src/cache/). Any
-- change to the tables they come from, by any instance, the CLI or plain SQL, announces itself
-- on the idp_config_changed channel when its transaction commits, and each instance drops its
-- cache. Statement-level triggers: one notification per statement, however many rows; cascaded
-- deletes (an account's or a client's roles) fire them too. PostgreSQL folds identical
-- notifications within a transaction into one.
CREATE FUNCTION idp_notify_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('idp_config_changed', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

CREATE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON clients
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_config_changed();
CREATE TRIGGER api_resources_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_resources
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_config_changed();
CREATE TRIGGER client_resource_scopes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON client_resource_scopes
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_config_changed();
CREATE TRIGGER roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roles
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_config_changed();
CREATE TRIGGER permissions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON permissions
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_config_changed();
CREATE TRIGGER role_permissions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON role_permissions
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_config_changed();
CREATE TRIGGER role_composites_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON role_composites
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_config_changed();
CREATE TRIGGER client_roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON client_roles
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_config_changed();
CREATE TRIGGER account_roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON account_roles
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_config_changed();
