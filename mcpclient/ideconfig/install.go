package ideconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcptray/mcptray/auth/atomicfile"
)

// Entry is one server entry of a client config.
type Entry struct {
	// Key is the entry's name in the file.
	Key string
	// Fields is the decoded entry (strings, json.Number/int64/float64,
	// bools, []any, map[string]any); nil when the entry is not an object.
	Fields map[string]any
}

// ReadEntries reads the target's server entries in file order. A missing
// file has none.
func ReadEntries(t Target) ([]Entry, error) {
	src, _, err := readFile(t.Path)
	if err != nil {
		return nil, err
	}
	entries, err := parseEntries(t, src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Path, err)
	}
	return entries, nil
}

func parseEntries(t Target, src []byte) ([]Entry, error) {
	if t.Format == TOML {
		items, err := parseTOML(src)
		if err != nil {
			return nil, err
		}
		tbl := tomlTable(items, t.ServersKey)
		var out []Entry
		seen := map[string]bool{}
		for _, it := range items {
			if it.array || !hasPrefix(it.path, t.ServersKey) || len(it.path) == len(t.ServersKey) {
				continue
			}
			k := it.path[len(t.ServersKey)]
			if seen[k] {
				continue
			}
			seen[k] = true
			fields, _ := tbl[k].(map[string]any)
			out = append(out, Entry{Key: k, Fields: fields})
		}
		return out, nil
	}
	root, err := parseJSONC(src)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, nil
	}
	if root.kind != 'o' {
		return nil, errors.New("the file is not a JSON object")
	}
	obj := root
	for _, k := range t.ServersKey {
		m := obj.member(k)
		if m == nil {
			return nil, nil
		}
		obj = m.value
	}
	if obj.kind != 'o' {
		return nil, fmt.Errorf("%q is not an object", strings.Join(t.ServersKey, "."))
	}
	out := make([]Entry, 0, len(obj.members))
	for _, m := range obj.members {
		fields, _ := m.value.decode(src).(map[string]any)
		out = append(out, Entry{Key: m.Key(), Fields: fields})
	}
	return out, nil
}

// Key is the member's name.
func (m jmember) Key() string { return m.key }

// BridgeServer reports whether an entry launches the mcptray bridge, and
// for which mcptray server: `mcptray-bridge [flags] NAME` or
// `mcptray bridge NAME`.
func BridgeServer(fields map[string]any) (server string, ok bool) {
	cmd, _ := fields["command"].(string)
	if cmd == "" {
		return "", false
	}
	args := stringList(fields["args"])
	base := strings.ToLower(cmd[strings.LastIndexAny(cmd, `/\`)+1:])
	base = strings.TrimSuffix(base, ".exe")
	switch {
	case base == "mcptray-bridge":
	case base == "mcptray" && len(args) > 0 && args[0] == "bridge":
		args = args[1:]
	default:
		return "", false
	}
	for i := len(args) - 1; i >= 0; i-- {
		if !strings.HasPrefix(args[i], "-") {
			return args[i], true
		}
	}
	return "", false
}

// stringList returns v's strings when it is a list of strings.
func stringList(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	return nil
}

// bridgeFields is the entry that launches the bridge, in t's style.
func bridgeFields(t Target, bridge string, args []string) []field {
	var f []field
	if t.TypeStdio {
		f = append(f, field{"type", "stdio"})
	}
	return append(f, field{"command", bridge}, field{"args", args})
}

// ForeignEntryError means the file already has an entry of that name that
// does not launch the mcptray bridge.
type ForeignEntryError struct {
	Target  Target
	Key     string
	Summary string
}

func (e *ForeignEntryError) Error() string {
	return fmt.Sprintf("%s already has a server %q that does not use mcptray (%s)", e.Target.Label(), e.Key, e.Summary)
}

// Describe summarises an entry for messages without its secrets: the
// command and its first arguments up to any header, or the URL.
func Describe(fields map[string]any) string {
	if fields == nil {
		return "not an object"
	}
	if cmd, ok := fields["command"].(string); ok {
		parts := []string{cmd}
		for i, a := range stringList(fields["args"]) {
			if i >= 4 || strings.HasPrefix(a, "--header") {
				parts = append(parts, "…")
				break
			}
			if strings.Contains(a, "://") {
				a = stripQuery(a)
			}
			parts = append(parts, a)
		}
		return "command " + strings.Join(parts, " ")
	}
	for _, k := range []string{"url", "serverUrl", "httpUrl"} {
		if u, ok := fields[k].(string); ok {
			return k + " " + stripQuery(u)
		}
	}
	return "no command or url"
}

// stripQuery drops a URL's query, which may hold a key.
func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

// Actions a Change reports.
const (
	ActionAdded     = "added"     // a new entry
	ActionUpdated   = "updated"   // our entry, now with another path or args
	ActionReplaced  = "replaced"  // a foreign entry overwritten (--force / import --replace)
	ActionUnchanged = "unchanged" // already as wanted
	ActionRemoved   = "removed"
	ActionAbsent    = "absent" // nothing to remove
)

// Change is one planned or applied edit of a config file.
type Change struct {
	Target Target
	// Key and Action are the entry edited and what happened to it; with
	// InstallAll, those of the first entry, and Actions has every entry's.
	Key     string
	Action  string
	Actions map[string]string
	Before  []byte
	After   []byte
	Existed bool // the file existed before
	Written bool // the change was written
}

// Changed reports whether the file's content changes.
func (c *Change) Changed() bool {
	return !bytes.Equal(c.Before, c.After)
}

// Diff is the change as a unified diff.
func (c *Change) Diff() string {
	a := c.Target.Path
	if !c.Existed {
		a = "/dev/null"
	}
	return UnifiedDiff(a, c.Target.Path, c.Before, c.After)
}

// Options tune Install and Uninstall.
type Options struct {
	// Force overwrites (or removes) an entry of that name that does not
	// launch the bridge.
	Force bool
	// DryRun plans the change without writing it.
	DryRun bool
	// KeepBackup leaves FILE.bak alone: it already holds the original from
	// an earlier edit of the same run (import --replace edits Claude
	// Code's file once per server list).
	KeepBackup bool
}

// Install makes the target's entry key launch `bridge args...`. It is
// idempotent; an existing bridge entry keeps its other settings and only
// gets the new command and args.
func Install(t Target, key, bridge string, args []string, o Options) (*Change, error) {
	return InstallAll(t, bridge, []Launch{{Key: key, Args: args}}, o)
}

// Launch is one entry to point at the bridge.
type Launch struct {
	Key  string
	Args []string
}

// InstallAll installs several entries of one file in a single write (one
// backup of the file as it was).
func InstallAll(t Target, bridge string, launches []Launch, o Options) (*Change, error) {
	if len(launches) == 0 {
		return nil, errors.New("nothing to install")
	}
	actions := map[string]string{}
	c, err := apply(t, launches[0].Key, o, func(src []byte) ([]byte, string, error) {
		clear(actions)
		for _, l := range launches {
			out, action, err := planInstall(t, src, l.Key, bridge, l.Args, o.Force)
			if err != nil {
				return nil, "", err
			}
			actions[l.Key] = action
			src = out
		}
		return src, actions[launches[0].Key], nil
	})
	if c != nil {
		c.Actions = actions
	}
	return c, err
}

// Uninstall removes the target's entry key if it launches the bridge (any
// entry with Force).
func Uninstall(t Target, key string, o Options) (*Change, error) {
	return apply(t, key, o, func(src []byte) ([]byte, string, error) {
		return planUninstall(t, src, key, o.Force)
	})
}

func planInstall(t Target, src []byte, key, bridge string, args []string, force bool) ([]byte, string, error) {
	entries, err := parseEntries(t, src)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", t.Path, err)
	}
	want := bridgeFields(t, bridge, args)
	entryPath := append(append([]string(nil), t.ServersKey...), key)
	var cur *Entry
	for i := range entries {
		if entries[i].Key == key {
			cur = &entries[i]
		}
	}
	setWhole := func() ([]byte, error) {
		if t.Format == TOML {
			return tomlSetEntry(src, entryPath, want)
		}
		return jsonSetMember(src, t.ServersKey, key, want)
	}
	switch {
	case cur == nil:
		out, err := setWhole()
		return out, ActionAdded, wrapPathErr(t, err)
	case isHTTPEntry(cur.Fields):
		// From the HTTP endpoint back to the bridge: a new entry.
		out, err := setWhole()
		return out, ActionUpdated, wrapPathErr(t, err)
	case isBridgeEntry(cur.Fields):
		if cur.Fields["command"] == bridge && equalStrings(stringList(cur.Fields["args"]), args) {
			return src, ActionUnchanged, nil
		}
		out := src
		for _, f := range want[len(want)-2:] { // command, args
			var err error
			if t.Format == TOML {
				var ok bool
				if out, ok, err = tomlSetKey(out, entryPath, f.Key, f.Value); err == nil && !ok {
					out, err = setWhole()
					return out, ActionUpdated, wrapPathErr(t, err)
				}
			} else {
				out, err = jsonSetMember(out, entryPath, f.Key, f.Value)
			}
			if err != nil {
				return nil, "", wrapPathErr(t, err)
			}
		}
		return out, ActionUpdated, nil
	case !force:
		return nil, "", &ForeignEntryError{Target: t, Key: key, Summary: Describe(cur.Fields)}
	default:
		out, err := setWhole()
		return out, ActionReplaced, wrapPathErr(t, err)
	}
}

func planUninstall(t Target, src []byte, key string, force bool) ([]byte, string, error) {
	entries, err := parseEntries(t, src)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", t.Path, err)
	}
	var cur *Entry
	for i := range entries {
		if entries[i].Key == key {
			cur = &entries[i]
		}
	}
	if cur == nil {
		return src, ActionAbsent, nil
	}
	if !force && !isBridgeEntry(cur.Fields) {
		return nil, "", &ForeignEntryError{Target: t, Key: key, Summary: Describe(cur.Fields)}
	}
	var out []byte
	if t.Format == TOML {
		out, _, err = tomlRemoveEntry(src, append(append([]string(nil), t.ServersKey...), key))
	} else {
		out, _, err = jsonRemoveMember(src, t.ServersKey, key)
	}
	return out, ActionRemoved, wrapPathErr(t, err)
}

// isBridgeEntry reports an entry that uses mcptray: it launches the bridge
// or reaches the HTTP endpoint.
func isBridgeEntry(fields map[string]any) bool {
	_, ok := MCPTrayServer(fields)
	return ok
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func wrapPathErr(t Target, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", t.Path, err)
}

// errModified means the file changed between reading and writing it.
var errModified = errors.New("the file changed while it was being edited")

func apply(t Target, key string, o Options, plan func([]byte) ([]byte, string, error)) (*Change, error) {
	for attempt := 1; ; attempt++ {
		src, existed, err := readFile(t.Path)
		if err != nil {
			return nil, err
		}
		after, action, err := plan(src)
		if err != nil {
			return nil, err
		}
		c := &Change{Target: t, Key: key, Action: action, Before: src, After: after, Existed: existed}
		if !c.Changed() || o.DryRun {
			return c, nil
		}
		err = c.write(!o.KeepBackup)
		if errors.Is(err, errModified) && attempt < 3 {
			continue // someone (the IDE) wrote it meanwhile: edit the new content
		}
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", t.Path, err)
		}
		c.Written = true
		return c, nil
	}
}

// readFile reads path; a missing file is empty.
func readFile(path string) (b []byte, existed bool, err error) {
	b, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// write saves After over the file (through a symlink to its target),
// keeping the old content in FILE.bak (if backup) and the file's
// permissions.
func (c *Change) write(backup bool) error {
	path := c.Target.Path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	perm := fs.FileMode(0o600)
	cur, err := os.ReadFile(path)
	switch {
	case err == nil:
		if !c.Existed || !bytes.Equal(cur, c.Before) {
			return errModified
		}
		if st, err := os.Stat(path); err == nil {
			perm = st.Mode().Perm()
		}
		if backup {
			if err := writeAtomic(path+".bak", cur, perm); err != nil {
				return fmt.Errorf("saving the backup: %w", err)
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		if c.Existed {
			return errModified
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
	default:
		return err
	}
	return writeAtomic(path, c.After, perm)
}

// writeAtomic writes via a temp file in the same directory and a rename.
func writeAtomic(path string, b []byte, perm fs.FileMode) error {
	return atomicfile.Write(path, b, perm)
}
