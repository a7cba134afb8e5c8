/** The MCP revisions our daemons speak with sessions (all of them share the initialize + session-id handshake). */
export const SUPPORTED_PROTOCOL_VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
