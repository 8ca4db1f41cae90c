package config

import (
	"strings"
	"testing"
)

func TestHTTPSettings(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		enabled    bool
		port       int
		err        string
	}{
		{name: "absent", json: `{}`, enabled: true, port: DefaultHTTPPort},
		{name: "empty", json: `{"http": {}}`, enabled: true, port: DefaultHTTPPort},
		{name: "port", json: `{"http": {"port": 30000}}`, enabled: true, port: 30000},
		{name: "off", json: `{"http": {"enabled": false}}`, enabled: false, port: DefaultHTTPPort},
		{name: "low port", json: `{"http": {"port": 80}}`, err: `field "http.port": must be a port number from 1024 to 65535`},
		{name: "big port", json: `{"http": {"port": 70000}}`, err: `field "http.port"`},
		{name: "not a number", json: `{"http": {"port": "x"}}`, err: `field "http.port"`},
		{name: "not a bool", json: `{"http": {"enabled": "yes"}}`, err: `field "http.enabled": must be true or false`},
		{name: "unknown key", json: `{"http": {"host": "0.0.0.0"}}`, err: `field "http.host": unknown setting (known: enabled, port)`},
		{name: "not an object", json: `{"http": 5}`, err: `field "http": must be an object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("c.json", []byte(tc.json))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.HTTPEnabled() != tc.enabled || c.HTTPPort() != tc.port {
				t.Errorf("enabled %v port %d, want %v %d", c.HTTPEnabled(), c.HTTPPort(), tc.enabled, tc.port)
			}
			// Marshal writes what Parse reads.
			b, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := Parse("c.json", b)
			if err != nil || c2.HTTPEnabled() != tc.enabled || c2.HTTPPort() != tc.port {
				t.Errorf("round trip: %v %+v", err, c2)
			}
		})
	}
}
