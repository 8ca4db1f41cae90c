// Package auth implements OAuth 2.1 for remote MCP servers, as the MCP
// authorization specification (2025-11-25, with 2025-06-18 and 2025-03-26
// back-compat) describes it for a desktop client:
//
//   - discovery: protected resource metadata (RFC 9728) and authorization
//     server metadata (RFC 8414, OpenID Connect discovery), with the
//     2025-03-26 fallback to endpoints at the server's origin;
//   - client registration: dynamic (RFC 7591), pre-registered (client ID from
//     the user's config) or a client ID metadata document URL;
//   - the browser login: PKCE S256, the resource indicator (RFC 8707), a
//     loopback callback listener on 127.0.0.1, the iss check (RFC 9207);
//   - tokens: refresh before expiry and on a 401 under a cross-process lock,
//     adopting a token another process already rotated; revocation (RFC 7009)
//     on logout; a TokenSource that caches a Manager's token for the requests
//     of a session, and never re-caches one the server has just rejected;
//   - credential stores: the OS keychain (with chunking and timeouts) and a
//     0600 JSON file.
//
// One Manager handles one server. The package knows nothing about MCP
// messages: callers hand it the WWW-Authenticate header of a 401 or 403 and
// ask it for a token.
//
// Secrets (tokens, authorization codes, PKCE verifiers, client secrets) never
// appear in log records or error messages produced here.
package auth
