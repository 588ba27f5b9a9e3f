//! Domain rules that do not depend on any I/O.

pub mod branding;
pub mod crypto;
pub mod deadline;
pub mod enums;
pub mod html;
pub mod identity;
pub mod lifecycle;
