//! The page's components, one per file.

pub mod app;
pub mod manifest_editor;
pub mod object_table;
