// Package auth is OAuth 2.1 for MCP servers: discovery (RFC 9728, RFC 8414,
// OpenID), dynamic client registration (RFC 7591), PKCE, the loopback
// callback, token refresh under a cross-process lock, and the credential
// store (OS keychain or a 0600 file). It knows nothing about MCP messages.
package auth
