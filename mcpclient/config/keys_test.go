package config

import (
	"strings"
	"testing"
)

// TestEveryKeyParses: each key the structs' tags name (what Marshal
// writes and the messages list) is one the parsers read, and a key they
// do not name is refused with the list.
func TestEveryKeyParses(t *testing.T) {
	for _, k := range topKeys {
		if _, err := Parse("c.json", []byte(`{"`+k+`": 0}`)); err != nil && strings.Contains(err.Error(), "unknown setting") {
			t.Errorf("top-level key %q is listed but not parsed: %v", k, err)
		}
	}
	for _, k := range serverKeys {
		if _, err := Parse("c.json", []byte(`{"mcpServers": {"s": {"url": "https://x.example/mcp", "`+k+`": 0}}}`)); err != nil && strings.Contains(err.Error(), "unknown field") {
			t.Errorf("server key %q is listed but not parsed: %v", k, err)
		}
	}
	for _, k := range oauthKeys {
		if _, err := Parse("c.json", []byte(`{"mcpServers": {"s": {"url": "https://x.example/mcp", "oauth": {"`+k+`": 0}}}}`)); err != nil && strings.Contains(err.Error(), "unknown field") {
			t.Errorf("oauth key %q is listed but not parsed: %v", k, err)
		}
	}
	_, err := Parse("c.json", []byte(`{"mcpServers": {"s": {"url": "https://x.example/mcp", "bogus": 1}}}`))
	if err == nil || !strings.Contains(err.Error(), "known: "+strings.Join(serverKeys, ", ")) {
		t.Errorf("an unknown key: %v", err)
	}
	if want := []string{"mcpServers", "credentialStore", "caFile", "clientMetadataUrl", "http", "maxMessageSize", "requestTimeout", "maxInFlight", "signInWait"}; strings.Join(topKeys, ",") != strings.Join(want, ",") {
		t.Errorf("top-level keys %v, want %v", topKeys, want)
	}
}
