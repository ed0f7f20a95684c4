//! The page's components, one per file.

pub mod app;
pub mod bridge_panel;
pub mod cluster_map;
pub mod decision_table;
pub mod flow;
pub mod gallery;
pub mod inspector;
pub mod large_map;
pub mod manifest_editor;
pub mod narrator;
pub mod object_table;
pub mod speed;
pub mod terminal;
