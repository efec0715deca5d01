#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Approval,
    Event,
    Job,
    Tenant,
    ApiKey,
    Webhook,
    User,
    Workflow,
    Run,
}

impl IdKind {
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Approval => "apr",
            IdKind::Event => "evt",
            IdKind::Job => "job",
            IdKind::Tenant => "ten",
            IdKind::User => "usr",
            IdKind::ApiKey => "key",
            IdKind::Webhook => "whk",
            IdKind::Workflow => "wf",
            IdKind::Run => "run",
        }
    }
}

/// The only source of identifiers, so tests can predict them.
pub trait Ids: Send + Sync {
    fn next(&self, kind: IdKind) -> String;
}
