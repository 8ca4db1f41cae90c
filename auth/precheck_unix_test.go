//go:build linux || dragonfly || freebsd || netbsd || openbsd

package auth

import (
	"errors"
	"testing"
)

func TestSessionBusPrecheck(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string { return func(string) string { return v } }
	none := func(string) bool { return false }
	if err := sessionBusPrecheck(env("unix:path=/run/bus"), 1000, none); err != nil {
		t.Fatal(err)
	}
	if err := sessionBusPrecheck(env(""), 1000, func(p string) bool { return p == "/run/user/1000/bus" }); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"", "autolaunch:"} {
		if err := sessionBusPrecheck(env(v), 1000, none); !errors.Is(err, errNoSessionBus) {
			t.Fatalf("address %q: %v", v, err)
		}
	}
}
