package ideconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func addFixtures(f *testing.F, ext string) {
	files, _ := filepath.Glob(filepath.Join("testdata", "full", "*"+ext))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
}

// Whatever the file holds, editing either fails cleanly or leaves a file
// that parses, has the entry, and loses it again on removal.
func FuzzJSONCEdit(f *testing.F) {
	addFixtures(f, ".json")
	for _, s := range []string{"", "{}", `{"mcpServers":{}}`, `{"mcpServers":{"a":1,}}`, "{\n// c\n}", `[`, `{"mcpServers":null}`} {
		f.Add(s)
	}
	entry := []field{{"command", "/b/mcptray-bridge"}, {"args", []string{"x"}}}
	f.Fuzz(func(t *testing.T, doc string) {
		if _, err := parseJSONC([]byte(doc)); err != nil {
			return
		}
		out, err := jsonSetMember([]byte(doc), []string{"mcpServers"}, "x", entry)
		if err != nil {
			return
		}
		tgt := Target{ServersKey: []string{"mcpServers"}}
		entries, err := parseEntries(tgt, out)
		if err != nil {
			t.Fatalf("set made an unparseable document: %v\n%q\n→\n%q", err, doc, out)
		}
		found := false
		for _, e := range entries {
			if e.Key == "x" {
				found = reflect.DeepEqual(e.Fields["args"], []any{"x"})
			}
		}
		if !found {
			t.Fatalf("entry not there after set:\n%q", out)
		}
		back, ok, err := jsonRemoveMember(out, []string{"mcpServers"}, "x")
		if err != nil || !ok {
			t.Fatalf("remove: %v %v", ok, err)
		}
		if _, err := parseJSONC(back); err != nil {
			t.Fatalf("remove made an unparseable document: %v\n%q", err, back)
		}
	})
}

func FuzzTOMLEdit(f *testing.F) {
	addFixtures(f, ".toml")
	for _, s := range []string{"", "a = 1", "[mcp_servers.x]\ncommand = 'y'\n", "[mcp_servers]\nx = {command = 'y'}\n", "x = '''\n[mcp_servers.x]\n'''\n"} {
		f.Add(s)
	}
	prefix := []string{"mcp_servers", "x"}
	f.Fuzz(func(t *testing.T, doc string) {
		if _, err := parseTOML([]byte(doc)); err != nil {
			return
		}
		out, err := tomlSetEntry([]byte(doc), prefix, []field{{"command", "/b/mcptray-bridge"}, {"args", []string{"x"}}})
		if err != nil {
			t.Fatalf("set failed on a valid document: %v\n%q", err, doc)
		}
		items, err := parseTOML(out)
		if err != nil {
			// Duplicate tables are not detected by this parser, so the
			// only way to fail is text the edit broke.
			t.Fatalf("set made an unparseable document: %v\n%q\n→\n%q", err, doc, out)
		}
		e, _ := tomlTable(items, []string{"mcp_servers"})["x"].(map[string]any)
		if e["command"] != "/b/mcptray-bridge" {
			t.Fatalf("entry reads back as %v from\n%q", e, out)
		}
		back, ok, err := tomlRemoveEntry(out, prefix)
		if err != nil || !ok {
			t.Fatalf("remove: %v %v", ok, err)
		}
		if _, err := parseTOML(back); err != nil {
			t.Fatalf("remove made an unparseable document: %v\n%q", err, back)
		}
	})
}

// Convert never panics, whatever the entry.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{
		`{"command":"npx","args":["-y","mcp-remote","https://x","--header","A: ${B}","3000"]}`,
		`{"url":"https://x","headers":{"a":"${input:x}"}}`,
		`{"command":"cmd","args":["/c"]}`,
		`{"command":"node","args":["--x"]}`,
		`{"httpUrl":"https://x","oauth":{"callbackPort":1e99}}`,
	} {
		f.Add("cursor", s)
	}
	f.Fuzz(func(t *testing.T, client, doc string) {
		n, err := parseJSONC([]byte(doc))
		if err != nil || n == nil {
			return
		}
		fields, _ := n.decode([]byte(doc)).(map[string]any)
		_, _, _ = Convert(client, fields)
	})
}
