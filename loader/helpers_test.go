package loader_test

import (
	"bytes"
	"fmt"
)

func fmtAny(v any) string { return fmt.Sprint(v) }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
