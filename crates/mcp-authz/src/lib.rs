//! Scope-, group- and CEL-based authorization of MCP tool calls, as a policy engine and a tower layer.
