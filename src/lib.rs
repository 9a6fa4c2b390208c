//! Examples and benchmarks of the kxy-id workspace.
