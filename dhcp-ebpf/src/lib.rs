//! The frame classifier of the xdhcpd XDP program, as a library.
//!
//! The program itself is the `xdhcpd-xdp` binary (`src/main.rs`). The
//! classifier lives here, `no_std` and free of BPF helpers, so that the
//! same code is compiled into the program and into host tests: this
//! crate's own, and `dhcp-user`'s, which check its client hash against the
//! userspace steering of real captured frames. `dhcp-xdp` lists this crate
//! as a build-dependency, so cargo reruns its build script (which builds
//! the programs) when anything here changes.
#![cfg_attr(not(test), no_std)]

pub mod classify;
