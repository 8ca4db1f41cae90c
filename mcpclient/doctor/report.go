package doctor

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Write renders the report for a terminal: the setup, then one block per
// server, each finding with its fix on the next line.
func (r *Report) Write(w io.Writer, urls map[string]string) {
	var cur string
	first := true
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range r.Findings {
		if first || f.Server != cur {
			tw.Flush()
			if !first {
				fmt.Fprintln(w)
			}
			if f.Server == "" {
				fmt.Fprintln(w, "setup")
			} else {
				fmt.Fprintf(w, "server %s  %s\n", f.Server, urls[f.Server])
			}
			cur, first = f.Server, false
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Status, f.Check, f.Summary)
		if f.Fix != "" {
			fmt.Fprintf(tw, "  \t\t→ %s\n", f.Fix)
		}
	}
	tw.Flush()
	fails, warns := 0, 0
	for _, f := range r.Findings {
		switch f.Status {
		case Fail:
			fails++
		case Warn:
			warns++
		}
	}
	fmt.Fprintln(w)
	switch {
	case fails > 0:
		fmt.Fprintf(w, "%d problem%s (FAIL above)%s: fix %s and run `mcptray doctor` again.\n", fails, plural(fails), warnText(warns), pron(fails))
	case warns > 0:
		fmt.Fprintf(w, "nothing broken; %d warning%s worth a look.\n", warns, plural(warns))
	default:
		fmt.Fprintln(w, "everything checked out.")
	}
}

func warnText(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" and %d warning%s", n, plural(n))
}

func pron(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
