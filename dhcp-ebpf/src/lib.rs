//! Intentionally empty: the XDP program is the `xdhcpd-xdp` binary
//! (`src/main.rs`). This library target only lets `dhcp-user` list the crate
//! as a build-dependency, so cargo reruns its build script on changes here.
#![no_std]
