package contract

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/lagoon-dev/lagoon/lake"
)

// Getter is the part of a lake.Store a contract is read through.
type Getter interface {
	Open(ctx context.Context, key string) (lake.Object, error)
}

// Key is where a table's contract lives.
func Key(ref lake.TableRef) string {
	return lake.PrefixAssets + "lagoon/tables/" + ref.DB + "/" + ref.Table + ".yaml"
}

// Load reads the contract of table ref: nil when it has none. A contract
// that is there but wrong is an error wrapping ErrInvalid, naming its key:
// the table's loading stops until it is fixed (only that table's).
func Load(ctx context.Context, st Getter, ref lake.TableRef) (*Contract, error) {
	b, err := read(ctx, st, Key(ref))
	if errors.Is(err, lake.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Key(ref), err)
	}
	return c, nil
}

// read reads a small object whole, at most MaxBytes of it.
func read(ctx context.Context, st Getter, key string) ([]byte, error) {
	obj, err := st.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	defer obj.Close()
	if obj.Size() > MaxBytes {
		return nil, fmt.Errorf("%s: %w: %d bytes, over %d", key, ErrInvalid, obj.Size(), MaxBytes)
	}
	b, err := io.ReadAll(io.LimitReader(obj, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}
