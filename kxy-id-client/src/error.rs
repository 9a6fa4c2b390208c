//! The one error type of this crate.

use std::sync::Arc;
use std::time::Duration;

/// A specialized `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while generating IDs.
///
/// Variants say what happened. Errors of a fetch (a server's answer, a store's failure, a
/// transport problem) reach callers of [`IdGenerator::next_id`](crate::IdGenerator::next_id)
/// wrapped in [`Error::Unavailable`], whose `source` is the fetch error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is out of range (a step below 1, a share outside `0..=1`, no base URL, ...).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// Both buffered segments are used up and no new segment could be had: the last fetch
    /// failed, or none arrived within the configured wait. The generator keeps fetching in
    /// the background and serves IDs again as soon as a fetch succeeds.
    #[error("no ID available for {key}: {reason}")]
    Unavailable {
        /// The segment key (`system:db:table:field`).
        key: String,
        /// What happened, in words.
        reason: String,
        /// How long the call waited for a segment.
        waited: Duration,
        /// The error of the last failed fetch, if a fetch failed.
        #[source]
        last_error: Option<Arc<Error>>,
    },

    /// The generator has been dropped or its background runtime has stopped.
    #[error("the ID generator for {key} is shut down")]
    Shutdown {
        /// The segment key.
        key: String,
    },

    /// More IDs were asked for in one block than a block may hold.
    #[error("a block of {requested} IDs was asked for; at most {max} are allowed")]
    BlockTooLarge {
        /// The number asked for.
        requested: usize,
        /// The largest block.
        max: usize,
    },

    /// A fetched segment does not lie above every ID this generator has handed out
    /// (the counter was moved backwards or deleted). It is never served.
    #[error(
        "segment {start}..={end} for {key} is not above the last segment (which ended at {previous_end}); \
         the counter has moved backwards and IDs could repeat"
    )]
    SegmentOutOfOrder {
        /// The segment key.
        key: String,
        /// First ID of the refused segment.
        start: i64,
        /// Last ID of the refused segment.
        end: i64,
        /// Last ID of the previous segment.
        previous_end: i64,
    },

    /// A source returned a segment that is empty or starts below 1; it is never served.
    #[error("invalid segment {start}..={end} for {key}: it is empty or starts below 1")]
    InvalidSegment {
        /// The segment key.
        key: String,
        /// First ID of the refused segment.
        start: i64,
        /// Last ID of the refused segment.
        end: i64,
    },

    /// Embedded mode: the store has no counter for the key, and the source is not allowed to
    /// create one.
    #[error(
        "no counter exists for {key}: seed it first (SegmentAllocator::raise_to with the table's MAX(id)), \
         or allow the source to create missing counters at 0 when the key is not a business table's key"
    )]
    CounterMissing {
        /// The segment key.
        key: String,
    },

    /// Embedded mode: the counter store failed.
    #[error("counter store error: {0}")]
    Store(#[from] kxy_id::Error),

    /// The server refused the request as bad (envelope code 400), for example because the
    /// counter would overflow or the key's column is not an integer.
    #[error("the server refused the request (400): {message}")]
    BadRequest {
        /// The server's `msg`.
        message: String,
    },

    /// The server does not know the key (envelope code 404): no database configuration for the
    /// system code and database, or no such table or field.
    #[error("the server does not know the key (404): {message}")]
    NotFound {
        /// The server's `msg`.
        message: String,
    },

    /// The server is busy (envelope code 503), for example while another request initializes the key.
    #[error("the server is busy (503): {message}")]
    Busy {
        /// The server's `msg`.
        message: String,
    },

    /// The server failed (envelope code 500, or HTTP 500 with the envelope).
    #[error("the server failed (500): {message}")]
    ServerError {
        /// The server's `msg`.
        message: String,
    },

    /// Any other handled failure the server reported in the envelope (401, 409, ...).
    #[error("the server answered code {code}: {message}")]
    Server {
        /// The envelope's `code`.
        code: i64,
        /// The server's `msg`.
        message: String,
    },

    /// The server found the request body invalid (HTTP 422); the server and client disagree
    /// about the contract.
    #[error("the server refused the request body (422): {detail}")]
    Unprocessable {
        /// The server's `detail`, as JSON text.
        detail: String,
    },

    /// The server answered an HTTP status that the contract does not use for this endpoint.
    #[error("{url} answered HTTP {status}: {body}")]
    HttpStatus {
        /// The URL called.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the body, for diagnosis.
        body: String,
    },

    /// The server's answer is not the expected JSON.
    #[error("invalid response from {url}: {reason}")]
    InvalidResponse {
        /// The URL called.
        url: String,
        /// What was wrong.
        reason: String,
    },

    /// The server could not be reached or the connection failed.
    #[error("cannot reach {url}: {reason}")]
    Transport {
        /// The URL called.
        url: String,
        /// The underlying cause, in words.
        reason: String,
    },

    /// The server did not answer in time.
    #[error("{url} did not answer within {after:?}")]
    Timeout {
        /// The URL called.
        url: String,
        /// The time limit that passed.
        after: Duration,
    },
}

impl Error {
    /// `true` when trying again later may succeed (the server or store is down, busy or slow),
    /// `false` when the same request will fail the same way until someone changes the
    /// configuration or data.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unavailable { .. }
            | Error::Busy { .. }
            | Error::ServerError { .. }
            | Error::HttpStatus { .. }
            | Error::InvalidResponse { .. }
            | Error::Transport { .. }
            | Error::Timeout { .. } => true,
            Error::Store(e) => matches!(
                e,
                kxy_id::Error::Connect { .. } | kxy_id::Error::Backend { .. }
            ),
            _ => false,
        }
    }
}
