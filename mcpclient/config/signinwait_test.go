package config

import (
	"errors"
	"strings"
	"testing"
)

// signInWait: top level and per server, a server's own wins, 120 s by
// default; out-of-range values are refused with the field named.
func TestSignInWait(t *testing.T) {
	c, err := Parse("c.json", []byte(`{"signInWait": 30, "mcpServers": {
		"a": {"url": "https://a.example/mcp", "signInWait": 5},
		"b": {"url": "https://b.example/mcp"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := EffectiveLimits(c.Servers["a"].Limits, c.Limits).SignInWait; got != 5 {
		t.Errorf("server a: signInWait %d, want its own 5", got)
	}
	if got := EffectiveLimits(c.Servers["b"].Limits, c.Limits).SignInWait; got != 30 {
		t.Errorf("server b: signInWait %d, want the top level's 30", got)
	}
	if got := EffectiveLimits(Limits{}, Limits{}).SignInWait; got != 120 {
		t.Errorf("default signInWait %d, want 120", got)
	}

	for _, tc := range []struct{ name, in, server string }{
		{"zero", `{"signInWait": 0, "mcpServers": {}}`, ""},
		{"negative", `{"mcpServers": {"s": {"url": "https://s.example/mcp", "signInWait": -1}}}`, "s"},
		{"too long", `{"mcpServers": {"s": {"url": "https://s.example/mcp", "signInWait": 3601}}}`, "s"},
		{"not a number", `{"signInWait": "2m", "mcpServers": {}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.json", []byte(tc.in))
			var fe *FileError
			if !errors.As(err, &fe) || fe.Field != "signInWait" || fe.Server != tc.server {
				t.Fatalf("want a FileError for signInWait of server %q, got %#v", tc.server, err)
			}
			if tc.name != "not a number" && !strings.Contains(err.Error(), "from 1 to 3600; the default is 120") {
				t.Errorf("message does not give the range and default: %v", err)
			}
		})
	}
}
