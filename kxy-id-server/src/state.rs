//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use kxy_id::IdService;

use crate::auth::Auth;
use crate::limits::AllocationLimits;
use crate::metrics::Metrics;
use crate::tokens::AllocationTokens;

/// The server's shared state, cloned (cheaply) into every connection.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Counters, configurations, initialization and discovery.
    pub service: Arc<IdService>,
    /// The admin account and tokens.
    pub auth: Auth,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// How long a client may take to send its request headers (default 10 s).
    pub header_timeout: Duration,
    /// How long a client may take to send its request body (default 10 s).
    pub body_timeout: Duration,
    /// What the store promises on a crash, reported by `/health` (`None`: not reported).
    pub durability: Option<kxy_id::store::Durability>,
    /// Bounds on allocation (IDs per request, per key and minute).
    pub limits: Arc<AllocationLimits>,
    /// Allocation tokens (checked only when required).
    pub tokens: Arc<AllocationTokens>,
}

impl AppState {
    /// State over a service and an authenticator.
    pub fn new(service: Arc<IdService>, auth: Auth) -> Self {
        let tokens = Arc::new(AllocationTokens::new(service.meta().clone(), false));
        AppState {
            limits: Arc::default(),
            tokens,
            service,
            auth,
            metrics: Arc::new(Metrics::default()),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            durability: None,
        }
    }
}
