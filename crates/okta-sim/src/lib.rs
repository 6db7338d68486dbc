//! An in-process simulator of Okta's org and custom authorization servers for tests, examples and dev mode.
