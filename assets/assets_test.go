package assets

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTrayIcons checks every tray icon decodes at its size with hard edges:
// each pixel fully opaque or fully transparent.
func TestTrayIcons(t *testing.T) {
	t.Parallel()
	for _, name := range TrayNames {
		for _, size := range TraySizes {
			img, err := png.Decode(bytes.NewReader(Tray(name, size)))
			if err != nil {
				t.Fatalf("%s-%d: %v", name, size, err)
			}
			if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
				t.Fatalf("%s-%d: size %v", name, size, b)
			}
			opaque := 0
			for y := 0; y < size; y++ {
				for x := 0; x < size; x++ {
					_, _, _, a := img.At(x, y).RGBA()
					switch a {
					case 0:
					case 0xffff:
						opaque++
					default:
						t.Fatalf("%s-%d: pixel (%d,%d) has alpha %d; tray icons must have hard edges", name, size, x, y, a>>8)
					}
				}
			}
			if opaque < size*size/2 {
				t.Errorf("%s-%d: only %d opaque pixels", name, size, opaque)
			}
		}
	}
}

func TestAppIcon(t *testing.T) {
	t.Parallel()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(AppIcon()))
	if err != nil || format != "png" || cfg.Width != 512 || cfg.Height != 512 {
		t.Fatalf("app icon: %v %s %dx%d", err, format, cfg.Width, cfg.Height)
	}
}

// TestGenerated checks the committed PNGs are what ./gen draws now.
func TestGenerated(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go not on PATH:", err)
	}
	out := t.TempDir()
	cmd := exec.Command(goBin, "run", "./gen", "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./gen: %v\n%s", err, b)
	}
	check := func(rel string, committed []byte) {
		b, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, committed) {
			t.Errorf("%s differs from what ./gen draws: run go generate ./assets", rel)
		}
	}
	for _, name := range TrayNames {
		for _, size := range TraySizes {
			check(fmt.Sprintf("tray/%s-%d.png", name, size), Tray(name, size))
		}
	}
	check("icon.png", AppIcon())
}
