-- People who sign in. The id is the stable `sub`; email is unique regardless of case.
CREATE TABLE accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  email_verified boolean NOT NULL DEFAULT false,
  password_hash text,
  name text,
  given_name text,
  family_name text,
  picture text,
  locale text,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX accounts_email_lower_key ON accounts (lower(email));
