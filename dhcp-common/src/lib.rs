//! Types and functions shared by the XDP program (`dhcp-ebpf`) and the
//! userspace server (`dhcp-user`).
//!
//! Everything here is `no_std`, allocation-free and verifier-friendly: the
//! same code runs in the kernel and in userspace, so both sides agree
//! bit-for-bit on how a client is steered.
#![no_std]

pub mod counters;
pub mod maps;
pub mod steer;
