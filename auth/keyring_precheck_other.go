//go:build !(linux || dragonfly || freebsd || netbsd || openbsd)

package auth

// keyringPrecheck has nothing to check where the keychain is an OS service.
func keyringPrecheck() error { return nil }
