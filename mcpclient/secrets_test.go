package mcpclient

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/logfile"
)

func TestKnownSecrets(t *testing.T) {
	env := map[string]string{"TOK": "env-token-0123456789", "PATHKEY": "path-key-abcdefgh", "PW": "url-password-xyz"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	sc := config.Server{
		URL: "https://user:${env:PW}@example.com/${env:PATHKEY}/mcp",
		Headers: map[string]string{
			"X-Custom-Auth": "Token literal-secret-42",
			"X-Api-Token":   "${env:TOK}",
			"X-Unset":       "pre-${env:NOPE}-post-123",
			"Accept":        "application/json",
			"content-type":  "application/json",
		},
		OAuth: &config.OAuth{ClientSecret: "client-secret-abcdef"},
	}
	got := config.KnownSecrets(sc, lookup)
	for _, want := range []string{"env-token-0123456789", "path-key-abcdefgh", "url-password-xyz",
		"Token literal-secret-42", "literal-secret-42", "client-secret-abcdef", "pre--post-123"} {
		if !slices.Contains(got, want) {
			t.Errorf("KnownSecrets lacks %q: %q", want, got)
		}
	}
	if slices.Contains(got, "application/json") {
		t.Errorf("Accept/Content-Type values are not secrets: %q", got)
	}
}

func TestUpstreamScrub(t *testing.T) {
	set := logfile.NewSecrets()
	t.Setenv("MCPTRAY_TEST_SCRUB", "env-secret-0123456789")
	u := newSupervisor("s", config.Server{
		URL:     "https://example.com/mcp",
		Headers: map[string]string{"X-Custom-Auth": "Token custom-secret-9876", "X-Key": "${env:MCPTRAY_TEST_SCRUB}"},
	}, globalSettings{}, supervisorDeps{secrets: set})
	cfg, _ := u.config()
	if _, err := u.resolve(cfg); err != nil {
		t.Fatal(err)
	}
	msg := "HTTP 500: you sent X-Custom-Auth: Token custom-secret-9876, X-Key: env-secret-0123456789"
	got := u.scrub(msg)
	if strings.Contains(got, "secret-") || strings.Count(got, logfile.Redacted) != 2 {
		t.Errorf("scrub: %q", got)
	}

	// setState records a scrubbed reason, status shows it scrubbed.
	u.setState(StateBackoff, msg, u.since)
	st := u.status(true)
	if strings.Contains(st.LastError, "secret-") || strings.Contains(st.Events[len(st.Events)-1].Reason, "secret-") {
		t.Errorf("status: %+v", st)
	}

	// A JSON error object stays valid JSON, even when the secret holds
	// JSON syntax.
	set.Add(`quo"te-secret\x`)
	raw := json.RawMessage(`{"code":-32603,"message":"denied: env-secret-0123456789 and quo\"te-secret\\x","data":{"h":["custom-secret-9876"]}}`)
	out := u.scrubJSON(raw)
	if !json.Valid(out) || strings.Contains(string(out), "secret") {
		t.Errorf("scrubJSON: %s", out)
	}
	odd := json.RawMessage(`{"a":"x","b":"custom-secret-9876"}`)
	set.Add(`"x","b":"`) // spans JSON syntax as it appears raw
	if s := u.scrub(string(odd)); json.Valid([]byte(s)) {
		t.Fatalf("the raw scrub stays valid JSON (%s): the fallback is not tested", s)
	}
	out = u.scrubJSON(odd)
	if !json.Valid(out) || strings.Contains(string(out), "custom-secret") {
		t.Errorf("scrubJSON with a secret across syntax: %s", out)
	}
}
