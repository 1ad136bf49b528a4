//! Shared HTTP kit for connectors (filled by the first connector that uses it).
