package config

import (
	"bytes"
	"reflect"
	"testing"
)

// configSeeds are valid and invalid config files for FuzzParseConfig.
var configSeeds = []string{
	// valid
	``,
	"\xef\xbb\xbf{}",
	`null`,
	`{"mcpServers": {}}`,
	`{"mcpServers": null, "$schema": "https://example.com/schema.json"}`,
	`{
  "mcpServers": {
    "jira": {
      "url": "https://mcp.atlassian.com/v1/sse",
      "transport": "auto",
      "headers": {"X-Team": "${env:TEAM}"},
      "oauth": {"clientId": "", "scopes": [], "callbackPort": 0},
      "disabled": false
    }
  },
  "credentialStore": "auto",
  "caFile": ""
}`,
	`{"mcpServers": {"a.b_c-1": {"url": "http://127.0.0.1:8080/mcp", "type": "http", "protocolVersion": "2025-06-18"}}}`,
	`{"mcpServers": {"s": {"url": "https://${env:HOST}/mcp", "transport": "sse", "disabled": true, "headers": {}}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/mcp", "oauth": {"clientId": "id", "clientSecret": "s", "scopes": ["a", "b"], "callbackPort": 33418, "resource": "https://x.example/"}}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/mcp", "oauth": null, "headers": null, "disabled": null}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/mcp", "type": "streamableHttp", "transport": "streamable-http"}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/mcp?a=<b>&c", "headers": {"Authorization": "Bearer \u00e9\ufffd"}}}}`,
	`{"credentialStore": "file", "maxMessageSize": 1048576, "requestTimeout": 30, "maxInFlight": 8,
	  "mcpServers": {"s": {"url": "https://x.example/mcp", "maxInFlight": 2, "requestTimeout": 5, "maxMessageSize": 2048}}}`,
	// invalid
	`[`,
	`[]`,
	`"config"`,
	`{"mcpServers": []}`,
	`{"mcpServers": {"s": "https://x.example/mcp"}}`,
	`{"mcpServers": {"s": {}}}`,
	`{"mcpServers": {"-bad": {"url": "https://x.example/mcp"}}}`,
	`{"mcpServers": {"s": {"url": "ftp://x.example/"}}}`,
	`{"mcpServers": {"s": {"url": "https://"}}}`,
	`{"mcpServers": {"s": {"url": "https://x/${HOME}"}}}`,
	`{"mcpServers": {"s": {"command": "npx", "args": ["mcp-remote"]}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/", "type": "stdio"}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/", "type": "sse", "transport": "auto"}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/", "headers": {"A": "1", "a": "2"}}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/", "headers": {"Bad Name": "1"}}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/", "headers": {"X": "a\r\nInjected: 1"}}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/", "oauth": {"callbackPort": 70000}}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/", "oauth": {"resource": "relative"}}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/", "protocolVersion": "1999-01-01"}}}`,
	`{"mcpServers": {"s": {"url": "https://x.example/", "maxInFlight": 0}}}`,
	`{"maxMessageSize": 1e3}`,
	`{"credentialStore": "vault"}`,
	`{"caFile": "/nonexistent/ca.pem"}`,
	`{"unknown": 1}`,
	`{"mcpServers": {}} trailing`,
}

// Whatever the bytes, Parse does not panic; a config it accepts is
// rendered by Marshal into a file that parses again to the same
// config, and rendering that gives the same bytes (edits do not drift).
func FuzzParseConfig(f *testing.F) {
	for _, s := range configSeeds {
		f.Add([]byte(s))
	}
	const path = "/home/u/.config/mcptray/config.json"
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg, err := Parse(path, in)
		if err != nil {
			if cfg != nil {
				t.Fatalf("Parse returned a config and the error %v", err)
			}
			return
		}
		out, err := Marshal(cfg)
		if err != nil {
			t.Fatalf("Marshal of an accepted config: %v\nin: %q", err, in)
		}
		again, err := Parse(path, out)
		if err != nil {
			t.Fatalf("Marshal's output does not parse: %v\nin:  %q\nout: %s", err, in, out)
		}
		if !reflect.DeepEqual(normalizeConfig(cfg), normalizeConfig(again)) {
			t.Fatalf("config changed on a round trip\nin:     %q\nparsed: %#v\nagain:  %#v", in, cfg, again)
		}
		out2, err := Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("rendering is not stable\nfirst:  %s\nsecond: %s", out, out2)
		}
	})
}

// normalizeConfig makes empty headers and scopes nil: the file cannot
// tell them apart (Marshal omits both), and neither can the hub.
func normalizeConfig(c *Config) *Config {
	n := *c
	n.Servers = make(map[string]Server, len(c.Servers))
	for name, sc := range c.Servers {
		if len(sc.Headers) == 0 {
			sc.Headers = nil
		}
		if sc.OAuth != nil {
			o := *sc.OAuth
			if len(o.Scopes) == 0 {
				o.Scopes = nil
			}
			sc.OAuth = &o
		}
		n.Servers[name] = sc
	}
	return &n
}
