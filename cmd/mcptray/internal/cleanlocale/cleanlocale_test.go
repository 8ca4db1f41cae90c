package cleanlocale

import (
	"os"
	"testing"
)

func TestApplyRestore(t *testing.T) {
	Restore() // undo what init did to this test process
	for _, tc := range []struct {
		env        map[string]string
		name, want string // the variable apply sets, and to what
	}{
		{map[string]string{"LANG": "C.UTF-8"}, "LANG", "C"},
		{map[string]string{"LC_ALL": "POSIX.utf8", "LANG": "de_DE.UTF-8"}, "LC_ALL", "C"},
		{map[string]string{"LC_MESSAGES": "C.UTF-8", "LANG": "C.UTF-8"}, "LC_MESSAGES", "C"},
		{map[string]string{"LANG": "de_DE.UTF-8"}, "LANG", "de_DE.UTF-8"},
		{map[string]string{"LC_ALL": "en_GB.UTF-8", "LANG": "C.UTF-8"}, "LC_ALL", "en_GB.UTF-8"},
		{map[string]string{"LANG": "C"}, "LANG", "C"},
	} {
		for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
			t.Setenv(k, tc.env[k])
		}
		apply()
		if got := os.Getenv(tc.name); got != tc.want {
			t.Errorf("%v: after apply %s=%q, want %q", tc.env, tc.name, got, tc.want)
		}
		Restore()
		for k, v := range tc.env {
			if got := os.Getenv(k); got != v {
				t.Errorf("%v: after Restore %s=%q, want %q", tc.env, k, got, v)
			}
		}
	}
}
