package prepare

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestCSVReaderEdges pins the reader's handling of RFC 4180's corners:
// each case lists the records (fields joined by |, or an error's words)
// and the line each starts on.
func TestCSVReaderEdges(t *testing.T) {
	cases := []struct {
		name, in string
		max      int
		want     []string
	}{
		{"crlf", "a,b\r\n1,2\r\n", 0, []string{"1:a|b", "2:1|2"}},
		{"crlf kept inside quotes", "\"x\r\ny\",z\nq,r\n", 0, []string{"1:x\r\ny|z", "3:q|r"}},
		{"doubled quotes", `"he said ""hi""",2` + "\n", 0, []string{`1:he said "hi"|2`}},
		{"no final newline", `"a","b"`, 0, []string{"1:a|b"}},
		{"no final newline, unquoted", "a,b\nc,d", 0, []string{"1:a|b", "2:c|d"}},
		{"unclosed at the end", "x\n\"abc\nd", 0, []string{"1:x", "2:error quoted field not closed"}},
		{"text after a closing quote", "\"a\"x,b\nc,d\n", 0, []string{"1:error text after a closing quote", "2:c|d"}},
		{"too long, then on", "aaaaaaaaaaaaaaaa\nb,c\n", 10, []string{"1:error record too long", "2:b|c"}},
		{"too long inside quotes", "\"aaaa\naaaaaaaaaaaa\"\nb,c\n", 10, []string{"1:error record too long", "3:b|c"}},
		{"empty fields", ",,\n", 0, []string{"1:||"}},
		{"bom", "\xEF\xBB\xBFa,b\n", 0, []string{"1:a|b"}},
		{"quote inside an unquoted field", "ab\"c,d\n", 0, []string{"1:ab\"c|d"}},
		{"quoted empty", "\"\",x\n", 0, []string{"1:\"\"|x"}},
		{"cr inside a field", "a\rb,c\n", 0, []string{"1:a\rb|c"}},
		{"separator and newline in quotes", "\"a,b\nc\",d\n", 0, []string{"1:a,b\nc|d"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			max := c.max
			if max == 0 {
				max = 1 << 20
			}
			r := newCSVReader(strings.NewReader(c.in), ',', max)
			var got []string
			for {
				line, fields, _, err := r.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					msg := err.Error()
					if errors.Is(err, errRecordTooLong) {
						msg = "record too long"
					}
					for _, w := range []string{"quoted field not closed", "text after a closing quote"} {
						if strings.Contains(msg, w) {
							msg = w
						}
					}
					got = append(got, fmt.Sprintf("%d:error %s", line, msg))
					continue
				}
				var parts []string
				for _, f := range fields {
					s := f.text
					if f.quoted && s == "" {
						s = `""`
					}
					parts = append(parts, s)
				}
				got = append(got, fmt.Sprintf("%d:%s", line, strings.Join(parts, "|")))
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}
