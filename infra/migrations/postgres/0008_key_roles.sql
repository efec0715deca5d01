-- What an API key may do: `agent` (ask), `approver` (answer, as the one identity in
-- `approver`), `admin` (everything). Keys made before roles were agents' keys.
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'agent';
ALTER TABLE api_keys ADD COLUMN approver TEXT;
