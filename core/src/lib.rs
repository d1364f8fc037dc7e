//! Cairn's pure core: the logic that the browser SDK and the edge worker share.
//!
//! Nothing in this crate does IO. Time, random bytes and configuration come in
//! as values; decisions and violations come out as values. That is what lets the
//! same code run in the browser (wasm32), at the edge (workerd) and in plain
//! `#[test]`s on the host.

#![no_std]
extern crate alloc;

pub mod auth;
pub mod consent;
pub mod delivery;
pub mod event;
pub mod graph;
pub mod id;
pub mod identity;
pub mod ingest;
pub mod json;
pub mod json_out;
pub mod minimize;
pub mod page;
pub mod pii;
pub mod plan;
pub mod privacy;
pub mod regulation;
pub mod resolve;
pub mod source;
pub mod text;
pub mod time;

pub use event::{Kind, Message, Violation};
