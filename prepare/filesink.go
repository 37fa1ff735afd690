package prepare

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lagoon-dev/lagoon/internal/osfile"
)

// FileSink writes outputs to local files: the first to Path, later ones to
// Path with -00001, -00002, … before its extension. Each is written under a
// dot-temp name and published by Commit, so a failed conversion leaves no
// half file where the output should be.
type FileSink struct {
	Path  string
	temps []string
}

var _ Sink = (*FileSink)(nil)

// Name returns the final name of the i-th output.
func (s *FileSink) Name(i int) string {
	if i == 0 {
		return s.Path
	}
	ext := filepath.Ext(s.Path)
	return fmt.Sprintf("%s-%05d%s", s.Path[:len(s.Path)-len(ext)], i, ext)
}

// Create implements Sink.
func (s *FileSink) Create(i int) (io.WriteCloser, error) {
	final := s.Name(i)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, err
	}
	f, err := osfile.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".*.tmp")
	if err != nil {
		return nil, err
	}
	s.temps = append(s.temps, f.Name())
	return f, nil
}

// Reset implements Sink.
func (s *FileSink) Reset() error {
	for _, t := range s.temps {
		if err := os.Remove(t); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	s.temps = nil
	return nil
}

// Commit renames the outputs to their final names and returns them.
func (s *FileSink) Commit() ([]string, error) {
	var out []string
	for i, t := range s.temps {
		if err := os.Rename(t, s.Name(i)); err != nil {
			return out, err
		}
		out = append(out, s.Name(i))
	}
	s.temps = nil
	return out, nil
}

// LocalSource is a Source for a local file.
func LocalSource(path string) (Source, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Source{}, err
	}
	return Source{
		Key:  path,
		Name: filepath.Base(path),
		Size: info.Size(),
		Open: func() (io.ReadCloser, error) { return os.Open(path) },
		OpenRandom: func() (RandomReader, error) {
			f, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			return localFile{f, info.Size()}, nil
		},
	}, nil
}

// localFile is an open local file of a known size.
type localFile struct {
	*os.File
	size int64
}

func (f localFile) Size() int64 { return f.size }
