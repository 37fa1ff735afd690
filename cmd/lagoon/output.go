package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"
)

// printTable writes rows under headers, aligned for a terminal, every
// cell made safe to print (termSafe).
func printTable(w io.Writer, headers []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, joinSafe(headers))
	for _, r := range rows {
		fmt.Fprintln(tw, joinSafe(r))
	}
	tw.Flush()
}

func joinSafe(cells []string) string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = termSafe(c)
	}
	return strings.Join(out, "\t")
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
