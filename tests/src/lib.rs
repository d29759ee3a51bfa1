//! The harness behind rust-container-howto: one layer talks to Docker
//! (client, build, docker), one table lists the variants, and the other
//! modules give each test and the main job a checked engine, base images,
//! unique tags and scratch copies of the example crate. The names they use
//! most are re-exported here.

pub mod auditable;
mod build;
pub mod build_log;
pub mod client;
mod copy;
pub mod dns;
pub mod docker;
pub mod inspect;
pub mod process;
pub mod projects;
pub mod promises;
mod provision;
pub mod regions;
pub mod registry;
mod repo;
pub mod reproducible;
pub mod scenarios;
pub mod temporary;
pub mod variants;

pub use build::{Build, BuildOutput, shell_word};
pub use build_log::BuildLog;
pub use client::Docker;
pub use copy::{CrateCopy, nonce};
pub use projects::{Binary, PROJECTS, Project};
pub use provision::{base_images, provision, provision_with};
pub use repo::repo_root;
pub use temporary::{TempImages, unique_tag};
pub use variants::{Rebuild, Runtime, VARIANTS, Variant};
