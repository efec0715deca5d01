-- Workers renew the leases they hold every few seconds: find them without a scan.
CREATE INDEX jobs_by_lease_owner ON jobs (lease_owner) WHERE status = 'pending';
-- The admin page's buried jobs, newest first.
CREATE INDEX jobs_buried ON jobs (tenant_id, run_at DESC) WHERE status = 'dead';
