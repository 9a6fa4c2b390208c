//! [`Route`]: the name of every endpoint, which the router returns with each answer and
//! metrics count requests under.
//!
//! One list declares the variants, their labels and [`Route::ALL`], so a route cannot lack
//! a label or a row in `/metrics`: the compiler sees to it, not a test.

/// Declares [`Route`] from `Variant => "label"` lines.
macro_rules! routes {
    ($($(#[doc = $doc:literal])* $variant:ident => $label:literal,)+) => {
        /// What a request was routed to: one variant per endpoint, and a few for requests
        /// that reach none.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Route {
            $($(#[doc = $doc])* $variant,)+
        }

        impl Route {
            /// Every route in declaration order, which is the order `/metrics` lists them.
            pub const ALL: &'static [Route] = &[$(Route::$variant),+];

            /// The `route` label of the metrics.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Route::$variant => $label,)+
                }
            }
        }
    };
}

// Sorted by label: `/metrics` has always listed routes in this order.
routes! {
    /// `POST /api/segment/allocate`
    Allocate => "allocate",
    /// `POST /api/segment/allocate-batch`
    AllocateBatch => "allocate_batch",
    /// A request whose body could not be read (too large, too slow), before routing.
    Body => "body",
    /// `GET /api/auth/check-init`
    CheckInit => "check_init",
    /// `GET /api/segment/counters`
    Counters => "counters",
    /// `POST /api/database/add`
    DbAdd => "db_add",
    /// `POST /api/database/{guid}/add-config`
    DbAddConfig => "db_add_config",
    /// `POST /api/database/{guid}/approve`
    DbApprove => "db_approve",
    /// `DELETE /api/database/{guid}`
    DbDelete => "db_delete",
    /// `GET /api/database/{guid}/discovered-tables`
    DbDiscovered => "db_discovered",
    /// `GET /api/database/{guid}`
    DbGet => "db_get",
    /// `POST /api/database/initialize/{guid}`
    DbInitialize => "db_initialize",
    /// `GET /api/database/list`
    DbList => "db_list",
    /// `PUT /api/database/{guid}`
    DbUpdate => "db_update",
    /// `GET /docs`
    Docs => "docs",
    /// `GET /health`
    Health => "health",
    /// `POST /api/auth/init-user`
    InitUser => "init_user",
    /// `POST /api/auth/login`
    Login => "login",
    /// `GET /metrics`
    Metrics => "metrics",
    /// `GET /openapi.json`
    Openapi => "openapi",
    /// `POST /api/tokens`
    TokenCreate => "token_create",
    /// `DELETE /api/tokens/{id}`
    TokenDelete => "token_delete",
    /// `GET /api/tokens`
    TokenList => "token_list",
    /// Any other `GET`: the admin UI's assets and pages.
    Ui => "ui",
    /// No route matched.
    Unknown => "unknown",
}

impl Route {
    /// The row of this route in per-route tables sized `Route::ALL.len()`.
    pub const fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_sits_at_its_index_and_labels_keep_their_order() {
        for (i, route) in Route::ALL.iter().enumerate() {
            assert_eq!(route.index(), i, "{route:?}");
        }
        for pair in Route::ALL.windows(2) {
            assert!(
                pair[0].as_str() < pair[1].as_str(),
                "labels sorted and unique: {pair:?}"
            );
        }
    }
}
