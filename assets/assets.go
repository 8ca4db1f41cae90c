// Package assets holds mcptray's icons, embedded in the binary: one tray
// icon per overall state in sizes 16 to 64 px, and the application icon.
// The PNGs are drawn by ./gen; run `go generate ./assets` after changing it.
package assets

//go:generate go run ./gen -out .

import (
	"embed"
	"fmt"
)

//go:embed tray/*.png icon.png
var files embed.FS

// Tray icon names, one per overall state.
const (
	TrayConnected  = "connected"  // every enabled server is connected
	TrayConnecting = "connecting" // something is connecting or signing in
	TraySignIn     = "signin"     // a server needs sign-in
	TrayFailing    = "failing"    // a server is failing or retrying
	TrayEmpty      = "empty"      // no servers (or all disabled)
)

// TrayNames lists the tray icon names.
var TrayNames = []string{TrayConnected, TrayConnecting, TraySignIn, TrayFailing, TrayEmpty}

// TraySizes are the sizes each tray icon is drawn in.
var TraySizes = []int{16, 22, 24, 32, 48, 64}

// Tray returns the PNG of a tray icon. It panics on an unknown name or
// size: both are fixed at build time.
func Tray(name string, size int) []byte {
	b, err := files.ReadFile(fmt.Sprintf("tray/%s-%d.png", name, size))
	if err != nil {
		panic(fmt.Sprintf("assets: no tray icon %q at %d px", name, size))
	}
	return b
}

// AppIcon returns the 512 px application icon PNG.
func AppIcon() []byte {
	b, err := files.ReadFile("icon.png")
	if err != nil {
		panic("assets: icon.png is not embedded")
	}
	return b
}
