-- The live audit stream (`idp audit tail`, GET /admin/api/v1/audit/stream) wakes up when an
-- event commits: each statement that adds events notifies idp_audit_events, and followers then
-- read what is new by id (src/events/audit-feed.ts). One notification per statement, without a
-- payload, so PostgreSQL folds a transaction's into one; followers poll as well, so a missed
-- notification only delays an event.
CREATE FUNCTION idp_notify_audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('idp_audit_events', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER audit_events_added AFTER INSERT ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION idp_notify_audit_event();
