package main

import (
	"strconv"

	"github.com/lagoon-dev/lagoon/internal/human"
)

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// groupDigits writes 1234567 as 1,234,567.
func groupDigits(n int64) string { return human.Digits(n) }

// humanBytes writes a size in binary units.
func humanBytes(n int64) string { return human.Bytes(n) }
