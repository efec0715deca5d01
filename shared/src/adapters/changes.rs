use tokio::sync::broadcast;

use crate::ports::{ChangeFeed, Changed};

/// In-process change feed over a broadcast channel. A slow subscriber that lags only
/// misses wake-ups, never data: readers go back to the store.
#[derive(Debug, Clone)]
pub struct BroadcastFeed {
    tx: broadcast::Sender<Changed>,
}

impl BroadcastFeed {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self { tx }
    }
}

impl Default for BroadcastFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl ChangeFeed for BroadcastFeed {
    fn publish(&self, change: Changed) {
        // No subscriber is not an error: nobody is waiting.
        let _ = self.tx.send(change);
    }

    fn subscribe(&self) -> broadcast::Receiver<Changed> {
        self.tx.subscribe()
    }
}
