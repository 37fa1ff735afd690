package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// printTable writes rows under headers, aligned for a terminal, every
// cell made safe to print (termSafe).
// On a terminal the table fits its width: the widest columns are cut,
// with "…".
func printTable(w io.Writer, headers []string, rows [][]string) {
	printTableWidth(w, headers, rows, termWidth(w))
}

// printTableWidth is printTable for a terminal width columns wide (0: no
// limit).
func printTableWidth(w io.Writer, headers []string, rows [][]string, width int) {
	all := append([][]string{headers}, rows...)
	safe := make([][]string, len(all))
	for i, r := range all {
		safe[i] = make([]string, len(r))
		for j, c := range r {
			safe[i][j] = termSafe(c)
		}
	}
	fit(safe, width)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range safe {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// fit cuts the cells of the widest columns until a row of the table
// (columns two spaces apart) is at most width runes (0: no limit).
func fit(rows [][]string, width int) {
	if width <= 0 || len(rows) == 0 {
		return
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for j, c := range r {
			if j < len(widths) {
				widths[j] = max(widths[j], utf8.RuneCountInString(c))
			}
		}
	}
	total := func() int { return sum(widths) + 2*(len(widths)-1) }
	for total() > width {
		j := slices.Index(widths, slices.Max(widths))
		if widths[j] <= 8 {
			return // as narrow as is readable
		}
		widths[j]--
	}
	for _, r := range rows {
		for j, c := range r {
			if j < len(widths) && utf8.RuneCountInString(c) > widths[j] {
				r[j] = string([]rune(c)[:widths[j]-1]) + "…"
			}
		}
	}
}

func sum(ns []int) int {
	t := 0
	for _, n := range ns {
		t += n
	}
	return t
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// termWidth is w's width in columns when w is a terminal that knows it,
// else 0.
func termWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

// termSafe escapes what a terminal would act on rather than show — control
// characters (escape sequences, carriage returns, tabs that would break a
// table's columns), invalid UTF-8 — as Go escapes (\x1b, \r, \t). Text
// from a lake (names, values, reasons) is outside input.
func termSafe(s string) string {
	if !needsEscape(s) {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

func needsEscape(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
		if !unicode.IsGraphic(r) && r != ' ' {
			return true
		}
	}
	return false
}

// mapPairs renders a map as sorted key=value pairs.
func mapPairs[V ~string](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+string(v))
	}
	slices.Sort(out)
	return out
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
