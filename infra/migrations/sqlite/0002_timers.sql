-- Timers are jobs of one request: kept with its id so a decision can cancel them.
ALTER TABLE jobs ADD COLUMN approval_id TEXT;
CREATE INDEX jobs_by_approval ON jobs (tenant_id, approval_id) WHERE status = 'pending';
-- approvals.expires_at holds the current deadline, which each escalation moves.
