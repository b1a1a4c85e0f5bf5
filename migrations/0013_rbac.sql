-- Role-based access control. A permission is one scope of one API resource (`read:reports` at
-- https://api.example.com); roles hold permissions and may include other roles (composites);
-- accounts and service clients hold roles.
CREATE TABLE permissions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  indicator text NOT NULL REFERENCES api_resources (indicator) ON DELETE CASCADE,
  name text NOT NULL CHECK (name ~ '^[\x21\x23-\x5B\x5D-\x7E]{1,128}$'),
  description text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (indicator, name)
);

CREATE TABLE role_permissions (
  role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  permission_id uuid NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
  PRIMARY KEY (role_id, permission_id)
);

CREATE INDEX role_permissions_permission_idx ON role_permissions (permission_id);

-- parent includes child: whoever holds parent also holds child and its permissions.
CREATE TABLE role_composites (
  parent_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  child_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  PRIMARY KEY (parent_id, child_id),
  CHECK (parent_id <> child_id)
);

CREATE INDEX role_composites_child_idx ON role_composites (child_id);

CREATE TABLE client_roles (
  client_id text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, role_id)
);

CREATE INDEX client_roles_role_idx ON client_roles (role_id);
