package ideconfig

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONSetAndRemove(t *testing.T) {
	entry := []field{{"command", "/b/mcptray-bridge"}, {"args", []string{"x"}}}
	for _, tc := range []struct {
		name, in, want string
		roundTrip      bool // removing again gives the input back
	}{
		{"empty object", "{}", "{\n  \"mcpServers\": {\n    \"x\": {\n      \"command\": \"/b/mcptray-bridge\",\n      \"args\": [\"x\"]\n    }\n  }\n}", false},
		{"empty servers", "{\n  \"mcpServers\": {}\n}\n",
			"{\n  \"mcpServers\": {\n    \"x\": {\n      \"command\": \"/b/mcptray-bridge\",\n      \"args\": [\"x\"]\n    }\n  }\n}\n", true},
		{"compact", `{"mcpServers":{"a":{"url":"https://a"}}}`,
			`{"mcpServers":{"a":{"url":"https://a"}, "x": {"command": "/b/mcptray-bridge", "args": ["x"]}}}`, true},
		{"compact trailing comma", `{"mcpServers":{"a":1,}}`,
			`{"mcpServers":{"a":1, "x": {"command": "/b/mcptray-bridge", "args": ["x"]},}}`, true},
		{"crlf and tabs", "{\r\n\t\"mcpServers\": {\r\n\t\t\"a\": 1\r\n\t}\r\n}\r\n",
			"{\r\n\t\"mcpServers\": {\r\n\t\t\"a\": 1,\r\n\t\t\"x\": {\r\n\t\t\t\"command\": \"/b/mcptray-bridge\",\r\n\t\t\t\"args\": [\"x\"]\r\n\t\t}\r\n\t}\r\n}\r\n", true},
		{"line comment after last", "{\n  \"mcpServers\": {\n    \"a\": 1 // one\n  }\n}\n",
			"{\n  \"mcpServers\": {\n    \"a\": 1, // one\n    \"x\": {\n      \"command\": \"/b/mcptray-bridge\",\n      \"args\": [\"x\"]\n    }\n  }\n}\n", true},
		{"only comments inside", "{\n  \"mcpServers\": {\n    // none yet\n  }\n}\n",
			"{\n  \"mcpServers\": {\n    // none yet\n    \"x\": {\n      \"command\": \"/b/mcptray-bridge\",\n      \"args\": [\"x\"]\n    }\n  }\n}\n", true},
		{"no servers key", "{\n    \"theme\": \"dark\"\n}\n",
			"{\n    \"theme\": \"dark\",\n    \"mcpServers\": {\n        \"x\": {\n            \"command\": \"/b/mcptray-bridge\",\n            \"args\": [\"x\"]\n        }\n    }\n}\n", false},
		{"bom", "\ufeff{\"mcpServers\": {}}", "\ufeff{\"mcpServers\": {\n  \"x\": {\n    \"command\": \"/b/mcptray-bridge\",\n    \"args\": [\"x\"]\n  }\n}}", true},
		{"replace value", "{\n  \"mcpServers\": {\n    \"x\": \"junk\", \"y\": 2\n  }\n}\n",
			"{\n  \"mcpServers\": {\n    \"x\": {\n      \"command\": \"/b/mcptray-bridge\",\n      \"args\": [\"x\"]\n    }, \"y\": 2\n  }\n}\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jsonSetMember([]byte(tc.in), []string{"mcpServers"}, "x", entry)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("set:\n%s", UnifiedDiff("want", "got", []byte(tc.want), got))
			}
			if _, err := parseJSONC(got); err != nil {
				t.Fatalf("result does not parse: %v", err)
			}
			back, found, err := jsonRemoveMember(got, []string{"mcpServers"}, "x")
			if err != nil || !found {
				t.Fatalf("remove: %v %v", found, err)
			}
			if tc.roundTrip && string(back) != tc.in {
				t.Fatalf("remove did not restore the input:\n%s", UnifiedDiff("in", "back", []byte(tc.in), back))
			}
			if _, err := parseJSONC(back); err != nil {
				t.Fatalf("after remove: %v\n%s", err, back)
			}
		})
	}
}

func TestJSONRemoveKeepsStrictJSONValid(t *testing.T) {
	for _, in := range []string{
		"{\n  \"s\": {\n    \"a\": 1,\n    \"x\": 2\n  }\n}",
		"{\n  \"s\": {\n    \"x\": 2,\n    \"a\": 1\n  }\n}",
		"{\n  \"s\": {\n    \"a\": 1,\n    \"x\": 2,\n    \"b\": 3\n  }\n}",
		`{"s": {"a": 1, "x": 2}}`,
		`{"s": {"x": 2, "a": 1}}`,
		`{"s": {"x": 2}}`,
		"{\"s\": {\n  \"a\": 1,\n  \"x\": {\n    \"deep\": [1,\n 2]\n  }\n}}",
	} {
		out, found, err := jsonRemoveMember([]byte(in), []string{"s"}, "x")
		if err != nil || !found {
			t.Fatalf("%q: %v %v", in, found, err)
		}
		if !json.Valid(out) {
			t.Errorf("%q → invalid %q", in, out)
		}
		if strings.Contains(string(out), `"x"`) {
			t.Errorf("%q → still has x: %q", in, out)
		}
	}
}

func TestJSONCParseErrors(t *testing.T) {
	for _, in := range []string{
		`{"a": }`, `{"a" 1}`, `{"a": 1 "b": 2}`, `[1 2]`, `{"a": "x`, `/* open`, `{"a": 1}}`,
		`{"a": tru}`, `{"a": 01x}`, "{\"a\": \"line\nbreak\"}", `{"a": 1, "a": 2}`, `{'a': 1}`,
		strings.Repeat("[", 500),
	} {
		if _, err := parseJSONC([]byte(in)); err == nil {
			t.Errorf("%q parsed", in)
		} else if se, ok := err.(*SyntaxError); !ok || se.Line < 1 {
			t.Errorf("%q: %v", in, err)
		}
	}
	n, err := parseJSONC([]byte("// just a comment\n"))
	if err != nil || n != nil {
		t.Errorf("comment-only document: %v %v", n, err)
	}
}

func TestJSONSetErrors(t *testing.T) {
	for _, in := range []string{`[]`, `{"mcpServers": []}`, `{"mcpServers": null}`} {
		if _, err := jsonSetMember([]byte(in), []string{"mcpServers"}, "x", "v"); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

func TestUnifiedDiff(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"
	b := "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n12\nthirteen"
	got := UnifiedDiff("a", "b", []byte(a), []byte(b))
	want := "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n@@ -10,3 +10,4 @@\n 10\n 11\n 12\n+thirteen\n\\ No newline at end of file\n"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if d := UnifiedDiff("a", "b", nil, []byte("x\n")); d != "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n" {
		t.Fatalf("from empty: %q", d)
	}
	if UnifiedDiff("a", "b", []byte(a), []byte(a)) != "" {
		t.Fatal("equal inputs give a diff")
	}
}
