-- Workers renew the leases they hold every few seconds: find them without a scan.
CREATE INDEX jobs_by_lease_owner ON jobs (lease_owner) WHERE status = 'pending';
-- The admin page's buried jobs, newest first.
CREATE INDEX jobs_buried ON jobs (tenant_id, run_at DESC) WHERE status = 'dead';

-- How each event's hash was made: 1 before the tenant was hashed too, 2 since.
ALTER TABLE approval_events ADD COLUMN scheme INTEGER NOT NULL DEFAULT 1;
-- The HMAC of the head under the server's audit key, which the database does not hold;
-- NULL on requests not written since.
ALTER TABLE approvals ADD COLUMN head_seal TEXT;
