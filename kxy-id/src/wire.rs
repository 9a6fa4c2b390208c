//! The HTTP wire contract, defined once for the server that answers and the client that asks.
