//go:build !darwin && !windows

package auth

func osBrowserCommand(url string) (string, []string) { return "xdg-open", []string{url} }
