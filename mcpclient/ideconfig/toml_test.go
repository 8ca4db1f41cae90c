package ideconfig

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestTOMLParseValues(t *testing.T) {
	src := `# comment
a = "basic \"q\" \u00e9 \\ tab\t"
b = 'C:\literal'
c = """
multi
line \
   joined"""
d = '''
raw \n'''
e = [1, 2_000, 0x10, -3.5e2, true, "s", [ 'n' ], ]
f = { x = 1, y.z = "deep" }
g = 1979-05-27 07:32:00Z
h = 1979-05-27
"quoted key".x = 1
[t1 . 'sub key']
k = inf
[[arr]]
v = 1
[arr.sub]
w = 2
[t2]
"k=v" = "x" # trailing
`
	items, err := parseTOML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	root := tomlTable(items, nil)
	want := map[string]any{
		"a":          "basic \"q\" é \\ tab\t",
		"b":          `C:\literal`,
		"c":          "multi\nline joined",
		"d":          `raw \n`,
		"e":          []any{int64(1), int64(2000), int64(16), -350.0, true, "s", []any{"n"}},
		"f":          map[string]any{"x": int64(1), "y": map[string]any{"z": "deep"}},
		"g":          "1979-05-27 07:32:00Z",
		"h":          "1979-05-27",
		"quoted key": map[string]any{"x": int64(1)},
		"t1":         map[string]any{"sub key": map[string]any{"k": math.Inf(1)}},
		"t2":         map[string]any{"k=v": "x"},
	}
	if !reflect.DeepEqual(root, want) {
		t.Fatalf("got  %#v\nwant %#v", root, want)
	}
}

func TestTOMLParseErrors(t *testing.T) {
	for _, in := range []string{
		"a = ", "a = \"open", "[t", "a = 1 2", "= 1", "a = [1 2]", "a = {x = 1", "a = \"bad \\q\"",
		"a = '''never closed", "a = nope", "[[a]", "a = \"\"\"x",
	} {
		if _, err := parseTOML([]byte(in)); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}

func TestTOMLSetAndRemove(t *testing.T) {
	fields := []field{{"command", `C:\mcptray\mcptray-bridge.exe`}, {"args", []string{"my.server"}}}
	prefix := []string{"mcp_servers", "my.server"}
	for _, tc := range []struct {
		name, in, want string
		roundTrip      bool
	}{
		{"empty", "", "[mcp_servers.\"my.server\"]\ncommand = \"C:\\\\mcptray\\\\mcptray-bridge.exe\"\nargs = [\"my.server\"]\n", false},
		{"no trailing newline", "model = \"x\"", "model = \"x\"\n\n[mcp_servers.\"my.server\"]\ncommand = \"C:\\\\mcptray\\\\mcptray-bridge.exe\"\nargs = [\"my.server\"]\n", false},
		{"append", "model = \"x\"\n\n[tui]\nx = 1\n", "model = \"x\"\n\n[tui]\nx = 1\n\n[mcp_servers.\"my.server\"]\ncommand = \"C:\\\\mcptray\\\\mcptray-bridge.exe\"\nargs = [\"my.server\"]\n", true},
		{"crlf", "a = 1\r\n", "a = 1\r\n\r\n[mcp_servers.\"my.server\"]\r\ncommand = \"C:\\\\mcptray\\\\mcptray-bridge.exe\"\r\nargs = [\"my.server\"]\r\n", true},
		{"replace block in place", "[mcp_servers.\"my.server\"]\nurl = \"https://x\"\n\n[mcp_servers.\"my.server\".env]\nA = \"b\"\n\n# about tui\n[tui]\nx = 1\n",
			"[mcp_servers.\"my.server\"]\ncommand = \"C:\\\\mcptray\\\\mcptray-bridge.exe\"\nargs = [\"my.server\"]\n\n\n# about tui\n[tui]\nx = 1\n", false},
		{"replace inline form", "[mcp_servers]\n\"my.server\" = { url = \"https://x\" }\nother = { command = \"y\" }\n",
			"[mcp_servers]\nother = { command = \"y\" }\n\n[mcp_servers.\"my.server\"]\ncommand = \"C:\\\\mcptray\\\\mcptray-bridge.exe\"\nargs = [\"my.server\"]\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tomlSetEntry([]byte(tc.in), prefix, fields)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("set:\n%s", UnifiedDiff("want", "got", []byte(tc.want), got))
			}
			items, err := parseTOML(got)
			if err != nil {
				t.Fatalf("result does not parse: %v", err)
			}
			e, _ := tomlTable(items, []string{"mcp_servers"})["my.server"].(map[string]any)
			if e["command"] != `C:\mcptray\mcptray-bridge.exe` || !reflect.DeepEqual(e["args"], []any{"my.server"}) || len(e) != 2 {
				t.Fatalf("entry reads back as %v", e)
			}
			back, found, err := tomlRemoveEntry(got, prefix)
			if err != nil || !found {
				t.Fatalf("remove: %v %v", found, err)
			}
			if tc.roundTrip && string(back) != tc.in {
				t.Fatalf("remove did not restore:\n%s", UnifiedDiff("in", "back", []byte(tc.in), back))
			}
			if strings.Contains(string(back), "my.server") {
				t.Fatalf("still there:\n%s", back)
			}
		})
	}
}

func TestTOMLSetKey(t *testing.T) {
	in := "[mcp_servers.a]\n  command = \"/old\" # was here\nargs = [\"a\"]\n[mcp_servers.a.env]\nX = \"1\"\n"
	out, ok, err := tomlSetKey([]byte(in), []string{"mcp_servers", "a"}, "command", "/new")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if want := "[mcp_servers.a]\n  command = \"/new\"\nargs = [\"a\"]\n[mcp_servers.a.env]\nX = \"1\"\n"; string(out) != want {
		t.Fatalf("%q", out)
	}
	// A dotted form is not edited in place.
	_, ok, _ = tomlSetKey([]byte("[mcp_servers]\na.command = \"/old\"\n"), []string{"mcp_servers", "a"}, "command", "/new")
	if ok {
		t.Fatal("dotted key edited in place")
	}
}
