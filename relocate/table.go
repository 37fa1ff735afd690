package relocate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lagoon-dev/lagoon/lake"
)

// rebaser maps locations under the lake's old roots to its root now.
type rebaser struct {
	p  *plan
	st *lake.Local
}

// key returns the key in the lake of a location under one of its roots,
// old or new (as a file:// URL or a bare path); false for a location
// elsewhere, which is not the lake's to move.
func (rb rebaser) key(loc string) (string, bool) {
	for _, root := range rb.roots() {
		for _, pre := range []string{root + "/", strings.TrimPrefix(root, "file://") + "/"} {
			if strings.HasPrefix(loc, pre) {
				return loc[len(pre):], true
			}
		}
	}
	return "", false
}

// roots are the roots the lake was at and is at.
func (rb rebaser) roots() []string {
	return append(append([]string{rb.p.From}, rb.p.Also...), rb.p.To)
}

// rebase returns loc moved under the lake's root, in the same form (URL
// or bare path), and whether it changed.
func (rb rebaser) rebase(loc string) (string, bool) {
	for _, root := range rb.roots() {
		if loc == root {
			return rb.p.To, loc != rb.p.To
		}
	}
	key, ok := rb.key(loc)
	if !ok {
		return loc, false
	}
	to := rb.p.To + "/" + key
	if !strings.HasPrefix(loc, "file://") {
		to = strings.TrimPrefix(to, "file://")
	}
	return to, to != loc
}

// pathProperties are the table properties that hold locations.
var pathProperties = []string{"write.data.path", "write.metadata.path", "write.object-storage.path", "write.folder-storage.path", lake.LakeRootProperty}

// tableWalk rebases one table: every manifest and manifest list of its
// snapshots, its earlier metadata files, then its current one.
type tableWalk struct {
	rb      rebaser
	rep     *Report
	current int64 // the current snapshot: its files must all be there
	done    map[string]bool
}

// rebaseTable rebases the table whose current metadata file is at loc.
func rebaseTable(ctx context.Context, rb rebaser, loc string, rep *Report) error {
	key, _ := rb.key(loc)
	md, err := readMetadata(ctx, rb.st, key)
	if err != nil {
		return err
	}
	w := tableWalk{rb: rb, rep: rep, current: int64Of(md["current-snapshot-id"]), done: map[string]bool{}}
	for _, sn := range objects(md["snapshots"]) {
		if err := w.snapshot(ctx, sn); err != nil {
			return err
		}
	}
	for _, e := range objects(md["metadata-log"]) {
		if err := w.earlierMetadata(ctx, e); err != nil {
			return err
		}
	}
	return w.putMetadata(ctx, key, md)
}

// snapshot rebases a snapshot's manifest list (or, in a v1 table, its
// list of manifests) and the manifests it names.
func (w *tableWalk) snapshot(ctx context.Context, sn map[string]any) error {
	must := int64Of(sn["snapshot-id"]) == w.current
	if list, ok := sn["manifest-list"].(string); ok {
		return w.file(ctx, list, must, w.manifestList)
	}
	for _, m := range texts(sn["manifests"]) {
		if err := w.file(ctx, m, must, w.manifest); err != nil {
			return err
		}
	}
	return nil
}

// file rebases the file at loc once, with rewrite; a file missing is an
// error when must, else it is reported.
func (w *tableWalk) file(ctx context.Context, loc string, must bool, rewrite func(context.Context, string, bool) error) error {
	key, ok := w.rb.key(loc)
	if !ok || w.done[key] {
		return nil
	}
	w.done[key] = true
	err := rewrite(ctx, key, must)
	if errors.Is(err, lake.ErrNotExist) && !must {
		w.rep.Missing = append(w.rep.Missing, key)
		return nil
	}
	return err
}

// manifestList rebases a manifest list and each manifest it names.
func (w *tableWalk) manifestList(ctx context.Context, key string, must bool) error {
	var manifests []string
	err := w.rewriteAvro(ctx, key, func(rec map[string]any) bool {
		path, _ := rec["manifest_path"].(string)
		manifests = append(manifests, path)
		return w.rebaseField(rec, "manifest_path")
	})
	if err != nil {
		return err
	}
	for _, m := range manifests {
		if err := w.file(ctx, m, must, w.manifest); err != nil {
			return err
		}
	}
	return nil
}

// manifest rebases a manifest: the data (or delete) file of each entry,
// and the data file a deletion file refers to.
func (w *tableWalk) manifest(ctx context.Context, key string, _ bool) error {
	return w.rewriteAvro(ctx, key, func(rec map[string]any) bool {
		df, ok := rec["data_file"].(map[string]any)
		if !ok {
			return false
		}
		a := w.rebaseField(df, "file_path")
		b := w.rebaseField(df, "referenced_data_file")
		return a || b
	})
}

// rebaseField rebases m[name] when it is a location under an old root.
func (w *tableWalk) rebaseField(m map[string]any, name string) bool {
	s, ok := m[name].(string)
	if !ok {
		return false
	}
	to, changed := w.rb.rebase(s)
	m[name] = to
	return changed
}

// rewriteAvro rewrites the Avro file at key with edit, unless edit
// changes nothing.
func (w *tableWalk) rewriteAvro(ctx context.Context, key string, edit func(map[string]any) bool) error {
	data, err := readAll(ctx, w.rb.st, key)
	if err != nil {
		return err
	}
	out, changed, err := rewriteAvro(data, edit)
	if err != nil || !changed {
		return wrapKey(key, err)
	}
	w.rep.Files++
	return put(ctx, w.rb.st, key, out)
}

// earlierMetadata rebases an earlier metadata file named in the log (it
// may be gone: old versions are deleted past a limit).
func (w *tableWalk) earlierMetadata(ctx context.Context, e map[string]any) error {
	loc, _ := e["metadata-file"].(string)
	return w.file(ctx, loc, false, func(ctx context.Context, key string, _ bool) error {
		md, err := readMetadata(ctx, w.rb.st, key)
		if err != nil {
			return err
		}
		return w.putMetadata(ctx, key, md)
	})
}

// putMetadata rebases a metadata file's locations (and, in a copy, the
// lake id it carries) and writes it back, unless nothing changed.
func (w *tableWalk) putMetadata(ctx context.Context, key string, md map[string]any) error {
	if !rebaseMetadata(md, w.rb) {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(md); err != nil {
		return wrapKey(key, err)
	}
	w.rep.Files++
	return put(ctx, w.rb.st, key, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// rebaseMetadata rebases every location a table metadata file holds.
func rebaseMetadata(md map[string]any, rb rebaser) bool {
	changed := false
	set := func(m map[string]any, k string) {
		if s, ok := m[k].(string); ok {
			to, c := rb.rebase(s)
			m[k], changed = to, changed || c
		}
	}
	set(md, "location")
	for _, sn := range objects(md["snapshots"]) {
		set(sn, "manifest-list")
		if list, ok := sn["manifests"].([]any); ok {
			for i, m := range list {
				if s, ok := m.(string); ok {
					to, c := rb.rebase(s)
					list[i], changed = to, changed || c
				}
			}
		}
	}
	for _, field := range [][2]string{{"metadata-log", "metadata-file"}, {"statistics", "statistics-path"}, {"partition-statistics", "statistics-path"}} {
		for _, e := range objects(md[field[0]]) {
			set(e, field[1])
		}
	}
	if props, ok := md["properties"].(map[string]any); ok {
		for _, k := range pathProperties {
			set(props, k)
		}
		if props[lake.LakeIDProperty] == rb.p.FromID && rb.p.ToID != rb.p.FromID {
			props[lake.LakeIDProperty], changed = rb.p.ToID, true
		}
	}
	return changed
}

// readMetadata reads a table metadata file, numbers kept as written.
func readMetadata(ctx context.Context, st *lake.Local, key string) (map[string]any, error) {
	data, err := readAll(ctx, st, key)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var md map[string]any
	if err := dec.Decode(&md); err != nil {
		return nil, fmt.Errorf("%s: not table metadata: %w", key, err)
	}
	return md, nil
}

// beforeWrite is called before each write a relocation makes (tests stop
// relocations there).
var beforeWrite = func(what string) error { return nil }

// put replaces the file at key whole.
func put(ctx context.Context, st *lake.Local, key string, data []byte) error {
	if err := beforeWrite(key); err != nil {
		return err
	}
	return st.Put(ctx, key, bytes.NewReader(data))
}

func readAll(ctx context.Context, st *lake.Local, key string) ([]byte, error) {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return data, wrapKey(key, err)
}

func wrapKey(key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", key, err)
}

// objects returns the JSON objects of an array (nil for anything else).
func objects(v any) []map[string]any {
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// texts returns the strings of a JSON array.
func texts(v any) []string {
	arr, _ := v.([]any)
	var out []string
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// int64Of returns a JSON number as an int64 (-1 when it is not one).
func int64Of(v any) int64 {
	n, ok := v.(json.Number)
	if !ok {
		return -1
	}
	i, err := n.Int64()
	if err != nil {
		return -1
	}
	return i
}
