//! kxy-id-server
