//go:build windows

package winconsole

import (
	"os"

	"golang.org/x/sys/windows"
)

var attachConsole = windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")

// attachParentProcess is ATTACH_PARENT_PROCESS, (DWORD)-1.
const attachParentProcess = uintptr(0xFFFFFFFF)

// Attach attaches to the parent's console when this process has none and
// points stdin, stdout and stderr at it, each only if it is not already
// redirected (to a file or a pipe). Without a parent console (started from
// Explorer, autostart) it does nothing.
func Attach() {
	std := []struct {
		id   uint32
		file **os.File
		name string
		mode int
	}{
		{windows.STD_INPUT_HANDLE, &os.Stdin, "CONIN$", os.O_RDWR},
		{windows.STD_OUTPUT_HANDLE, &os.Stdout, "CONOUT$", os.O_RDWR},
		{windows.STD_ERROR_HANDLE, &os.Stderr, "CONOUT$", os.O_RDWR},
	}
	var missing []int // the streams Windows gave us no handle for
	for i, s := range std {
		if h, err := windows.GetStdHandle(s.id); err != nil || h == 0 || h == windows.InvalidHandle {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return // a console program, or everything is redirected
	}
	if r, _, _ := attachConsole.Call(attachParentProcess); r == 0 {
		return
	}
	// os.Stdin/Stdout/Stderr were made from the missing handles at start:
	// open the console for those, whatever GetStdHandle says now.
	for _, i := range missing {
		s := std[i]
		f, err := os.OpenFile(s.name, s.mode, 0)
		if err != nil {
			continue
		}
		*s.file = f
		_ = windows.SetStdHandle(s.id, windows.Handle(f.Fd()))
	}
}
