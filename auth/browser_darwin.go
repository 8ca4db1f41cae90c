//go:build darwin

package auth

func osBrowserCommand(url string) (string, []string) { return "open", []string{url} }
