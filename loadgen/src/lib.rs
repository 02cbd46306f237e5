//! Simulated DHCP clients: the message builders the load generator and the benchmarks share.
