// Package winconsole lets the tray executable's CLI subcommands print in
// the terminal they were started from on Windows.
//
// Fyne links mcptray.exe as a GUI-subsystem program, which Windows starts
// without a console: a subcommand's output would go nowhere. Attach
// attaches to the parent process's console (cmd.exe, PowerShell, Windows
// Terminal) and points the standard streams that are not redirected at it.
// Elsewhere it does nothing.
package winconsole
