//! kxy-id-client
