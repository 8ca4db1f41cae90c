package config

import (
	"reflect"
	"strings"
)

// The keys of the file are the json tags of Config, Server, OAuth and
// Limits: Marshal writes them, the parsers read them, and the "unknown
// field" messages list them from here, so that a key is named once.
var (
	topKeys    = jsonKeys(reflect.TypeFor[Config]())
	serverKeys = jsonKeys(reflect.TypeFor[Server]())
	oauthKeys  = jsonKeys(reflect.TypeFor[OAuth]())
)

// jsonKeys lists a struct's json keys in field order, embedded structs'
// keys in place, skipping fields tagged "-".
func jsonKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && name == "":
			out = append(out, jsonKeys(f.Type)...)
		case name == "-" || !f.IsExported():
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	return out
}

// known renders keys for an "unknown field" message.
func known(keys []string) string { return strings.Join(keys, ", ") }
