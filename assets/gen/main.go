// Command gen draws mcptray's icons: the tray icons (one per overall state,
// in every size a panel asks for) and the application icon. Run it with
// `go generate ./assets` after changing a shape or a colour; the PNGs it
// writes are committed and embedded by package assets.
//
// Tray icons have hard edges: every pixel is fully opaque or fully
// transparent (Fyne's Linux tray sends pixmaps whose semi-transparent
// pixels arrive with wrong colours). A dark ring around a coloured disc
// keeps them legible on light and dark panels alike.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
)

// TraySizes are the pixel sizes written for every tray state.
var TraySizes = []int{16, 22, 24, 32, 48, 64}

var (
	ring  = color.NRGBA{0x1b, 0x1b, 0x1b, 0xff}
	white = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	dark  = color.NRGBA{0x1b, 0x1b, 0x1b, 0xff}
)

// trayState is one overall state's look.
type trayState struct {
	name  string
	fill  color.NRGBA
	ink   color.NRGBA
	glyph func(x, y, w float64) bool // x, y in disc radii from the centre; w = stroke in radii
}

var trayStates = []trayState{
	{"connected", color.NRGBA{0x2e, 0x9e, 0x44, 0xff}, white, check},
	{"connecting", color.NRGBA{0xf2, 0xb1, 0x00, 0xff}, dark, dots},
	{"signin", color.NRGBA{0x2f, 0x6f, 0xde, 0xff}, white, lock},
	{"failing", color.NRGBA{0xd9, 0x30, 0x25, 0xff}, white, bang},
	{"empty", color.NRGBA{0x8a, 0x8a, 0x8a, 0xff}, white, dash},
}

func main() {
	out := flag.String("out", ".", "the assets directory to write into")
	flag.Parse()
	for _, st := range trayStates {
		for _, size := range TraySizes {
			p := filepath.Join(*out, "tray", fmt.Sprintf("%s-%d.png", st.name, size))
			if err := writePNG(p, drawTray(st, size)); err != nil {
				log.Fatal(err)
			}
		}
	}
	if err := writePNG(filepath.Join(*out, "icon.png"), drawAppIcon(512)); err != nil {
		log.Fatal(err)
	}
}

func writePNG(path string, img image.Image) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// drawTray renders one state at one size. Each pixel takes the colour that
// most of its 8×8 sub-samples have, so edges are hard but shapes keep
// their proportions at every size.
func drawTray(st trayState, size int) *image.NRGBA {
	const ss = 8
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	r := float64(size) / 2
	// Stroke widths in whole pixels, so that 16 px stays crisp.
	ringPx := math.Max(1, math.Round(float64(size)/16))
	strokePx := math.Max(2, math.Round(float64(size)*0.13))
	w := strokePx / r
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var votes [4]int // transparent, ring, fill, ink
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := float64(px) + (float64(sx)+0.5)/ss - r
					y := float64(py) + (float64(sy)+0.5)/ss - r
					d := math.Hypot(x, y)
					switch {
					case d > r:
						votes[0]++
					case d > r-ringPx:
						votes[1]++
					case st.glyph(x/r, y/r, w):
						votes[3]++
					default:
						votes[2]++
					}
				}
			}
			best := 0
			for i := range votes {
				if votes[i] > votes[best] {
					best = i
				}
			}
			switch best {
			case 1:
				img.SetNRGBA(px, py, ring)
			case 2:
				img.SetNRGBA(px, py, st.fill)
			case 3:
				img.SetNRGBA(px, py, st.ink)
			}
		}
	}
	return img
}

// segDist is the distance from p to the segment a-b.
func segDist(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := ((px-ax)*dx + (py-ay)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(px-(ax+t*dx), py-(ay+t*dy))
}

func check(x, y, w float64) bool {
	return segDist(x, y, -0.42, 0.0, -0.12, 0.32) < w/2 || segDist(x, y, -0.12, 0.32, 0.44, -0.3) < w/2
}

func dots(x, y, w float64) bool {
	rd := math.Max(w*0.62, 0.13)
	for _, cx := range []float64{-0.44, 0, 0.44} {
		if math.Hypot(x-cx, y) < rd {
			return true
		}
	}
	return false
}

func lock(x, y, w float64) bool {
	// Body.
	if x > -0.42 && x < 0.42 && y > -0.04 && y < 0.48 {
		return true
	}
	// Shackle: an arch with straight legs down to the body.
	const cy, rs = -0.24, 0.25
	half := w * 0.34
	if y < cy {
		d := math.Hypot(x, y-cy)
		return d < rs+half && d > rs-half
	}
	return y < -0.04 && math.Abs(math.Abs(x)-rs) < half
}

func bang(x, y, w float64) bool {
	if math.Abs(x) < w/2 && y > -0.56 && y < 0.12 {
		return true
	}
	return math.Hypot(x, y-0.38) < w*0.6
}

func dash(x, y, w float64) bool {
	return math.Abs(y) < w/2 && math.Abs(x) < 0.46
}

// drawAppIcon draws the application icon: a hub with three spokes on a
// rounded blue square, anti-aliased (desktops scale it themselves).
func drawAppIcon(size int) *image.NRGBA {
	const ss = 4
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	s := float64(size)
	top := color.NRGBA{0x2f, 0x6f, 0xde, 0xff}
	bottom := color.NRGBA{0x1c, 0x3f, 0x8c, 0xff}
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var bg, fg int
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) / s
					y := (float64(py) + (float64(sy)+0.5)/ss) / s
					if !roundedSquare(x, y, 0.06, 0.2) {
						continue
					}
					bg++
					if hubGlyph(x, y) {
						fg++
					}
				}
			}
			if bg == 0 {
				continue
			}
			t := float64(py) / s
			c := mix(top, bottom, t)
			c = mix(c, white, float64(fg)/float64(bg))
			c.A = uint8(255 * bg / (ss * ss))
			img.SetNRGBA(px, py, c)
		}
	}
	return img
}

func roundedSquare(x, y, margin, radius float64) bool {
	lo, hi := margin+radius, 1-margin-radius
	cx := math.Max(lo, math.Min(hi, x))
	cy := math.Max(lo, math.Min(hi, y))
	return math.Hypot(x-cx, y-cy) <= radius
}

// hubGlyph is a central node joined to three outer nodes.
func hubGlyph(x, y float64) bool {
	const cx, cy = 0.5, 0.53
	if math.Hypot(x-cx, y-cy) < 0.11 {
		return true
	}
	for i := 0; i < 3; i++ {
		a := -math.Pi/2 + float64(i)*2*math.Pi/3
		ox, oy := cx+0.27*math.Cos(a), cy+0.27*math.Sin(a)
		if math.Hypot(x-ox, y-oy) < 0.075 {
			return true
		}
		if segDist(x, y, cx, cy, ox, oy) < 0.03 {
			return true
		}
	}
	return false
}

func mix(a, b color.NRGBA, t float64) color.NRGBA {
	l := func(p, q uint8) uint8 { return uint8(math.Round(float64(p)*(1-t) + float64(q)*t)) }
	return color.NRGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 0xff}
}
