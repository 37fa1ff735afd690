package relocate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/twmb/avro"
	"github.com/twmb/avro/ocf"
)

// rewriteAvro passes each record of an Avro object container file (a
// manifest or a manifest list) through edit and returns the file written
// again — the same schema text, metadata and codec — when edit changed a
// record. Records are decoded against the schema with its logical types
// left out, so every value keeps its stored form (no date or decimal is
// converted on the way), and the new file is read back and compared with
// what was meant before it is returned.
func rewriteAvro(data []byte, edit func(map[string]any) bool) ([]byte, bool, error) {
	rd, err := ocf.NewReader(bytes.NewReader(data), ocf.WithReaderSchemaFunc(plainSchema))
	if err != nil {
		return nil, false, fmt.Errorf("avro: %w", err)
	}
	defer rd.Close()
	recs, changed, err := decodeAll(rd, edit)
	if err != nil || !changed {
		return nil, false, err
	}
	meta := rd.Metadata()
	out, err := encodeAll(meta, recs)
	if err != nil {
		return nil, false, err
	}
	return out, true, verify(out, recs)
}

// plainSchema is the file's schema without logical types.
func plainSchema(rd *ocf.Reader) (*avro.Schema, error) { return plain(rd.Metadata()["avro.schema"]) }

// plain parses a schema's text with its logical types left out.
func plain(text []byte) (*avro.Schema, error) {
	var s any
	if err := json.Unmarshal(text, &s); err != nil {
		return nil, fmt.Errorf("avro schema: %w", err)
	}
	out, err := json.Marshal(dropLogical(s))
	if err != nil {
		return nil, fmt.Errorf("avro schema: %w", err)
	}
	sc, err := avro.Parse(string(out))
	if err != nil {
		return nil, fmt.Errorf("avro schema: %w", err)
	}
	return sc, nil
}

// dropLogical removes every logicalType annotation from a schema.
func dropLogical(s any) any {
	switch v := s.(type) {
	case map[string]any:
		delete(v, "logicalType")
		for k, e := range v {
			v[k] = dropLogical(e)
		}
	case []any:
		for i, e := range v {
			v[i] = dropLogical(e)
		}
	}
	return s
}

func decodeAll(rd *ocf.Reader, edit func(map[string]any) bool) ([]map[string]any, bool, error) {
	var recs []map[string]any
	changed := false
	for {
		var rec map[string]any
		err := rd.Decode(&rec)
		if errors.Is(err, io.EOF) {
			return recs, changed, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("avro: %w", err)
		}
		changed = edit(rec) || changed
		recs = append(recs, rec)
	}
}

// encodeAll writes recs with the header of the file they came from.
func encodeAll(meta map[string][]byte, recs []map[string]any) ([]byte, error) {
	sc, err := plain(meta["avro.schema"])
	if err != nil {
		return nil, err
	}
	opts, err := writerOpts(meta, string(meta["avro.schema"]))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := ocf.NewWriter(&buf, sc, opts...)
	if err != nil {
		return nil, fmt.Errorf("avro: %w", err)
	}
	for _, rec := range recs {
		if err := w.Encode(rec); err != nil {
			w.Close()
			return nil, fmt.Errorf("avro: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("avro: %w", err)
	}
	return buf.Bytes(), nil
}

// writerOpts keep a file's schema text, its own metadata and its codec.
func writerOpts(meta map[string][]byte, schemaText string) ([]ocf.WriterOpt, error) {
	own := map[string][]byte{}
	for k, v := range meta {
		if !strings.HasPrefix(k, "avro.") {
			own[k] = v
		}
	}
	opts := []ocf.WriterOpt{ocf.WithSchema(schemaText), ocf.WithMetadata(own)}
	switch name := string(meta["avro.codec"]); name {
	case "", "null":
	case "deflate":
		opts = append(opts, ocf.WithCodec(ocf.DeflateCodec(-1)))
	case "snappy":
		opts = append(opts, ocf.WithCodec(ocf.SnappyCodec()))
	case "zstandard":
		c, err := ocf.ZstdCodec(nil, nil)
		if err != nil {
			return nil, err
		}
		opts = append(opts, ocf.WithCodec(c))
	default:
		return nil, fmt.Errorf("avro: codec %q", name)
	}
	return opts, nil
}

// verify reads out back and checks that it holds exactly recs.
func verify(out []byte, recs []map[string]any) error {
	rd, err := ocf.NewReader(bytes.NewReader(out), ocf.WithReaderSchemaFunc(plainSchema))
	if err != nil {
		return fmt.Errorf("avro: rewritten file: %w", err)
	}
	defer rd.Close()
	got, _, err := decodeAll(rd, func(map[string]any) bool { return false })
	if err != nil {
		return fmt.Errorf("avro: rewritten file: %w", err)
	}
	if len(got) != len(recs) || (len(got) > 0 && !reflect.DeepEqual(got, recs)) {
		return fmt.Errorf("avro: rewritten file differs from what was meant")
	}
	return nil
}
