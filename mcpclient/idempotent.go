package mcpclient

// idempotent reports whether a request may be sent again on a new session
// when its first try was lost: reads are, tools/call and anything unknown
// are not (they may have run).
func idempotent(method string) bool {
	switch method {
	case "ping", "tools/list", "resources/list", "resources/templates/list",
		"resources/read", "prompts/list", "prompts/get", "completion/complete",
		"resources/subscribe", "resources/unsubscribe", "logging/setLevel":
		return true
	}
	return false
}
