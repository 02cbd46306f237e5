//! Benchmarks live in `benches/`; this library holds nothing (cargo needs a target).
