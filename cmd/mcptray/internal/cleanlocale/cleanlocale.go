// Package cleanlocale keeps Fyne quiet about the POSIX locale.
//
// Fyne's lang package reads the locale while it initializes and logs
// "Fyne error: Error parsing user locale C" to stderr for C.UTF-8 and
// POSIX.UTF-8 (common in containers, CI and SSH sessions), before main
// runs: noise on every CLI command. This package, imported blank by main,
// is initialized before fyne.io/fyne/v2/lang (the spec initializes
// packages in import-path order as their imports allow, and lang waits on
// github.com/nicksnyder/go-i18n, which sorts after this path). It sets the
// variable that decides the locale to plain "C", which Fyne reads as
// English without complaint; Restore, called first thing in main, puts the
// user's value back before anything else (a browser, a hub) is started.
package cleanlocale

import (
	"os"
	"strings"
)

var saved struct {
	name, value string
}

func init() { apply() }

func apply() {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		if base, _, ok := strings.Cut(v, "."); ok && (base == "C" || base == "POSIX") {
			saved.name, saved.value = name, v
			os.Setenv(name, "C")
		}
		return
	}
}

// Restore puts back the locale variable init changed, if it changed one.
func Restore() {
	if saved.name != "" {
		os.Setenv(saved.name, saved.value)
		saved.name = ""
	}
}
