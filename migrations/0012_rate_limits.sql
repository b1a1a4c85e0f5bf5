-- Counters for rate-limiter-flexible's PostgreSQL store when Redis is not configured (the same
-- shape the library would create; made here so migrations own the schema). `expire` is epoch ms.
CREATE TABLE rate_limits (
  key varchar(255) PRIMARY KEY,
  points integer NOT NULL DEFAULT 0,
  expire bigint
);

CREATE INDEX rate_limits_expire_idx ON rate_limits (expire);
