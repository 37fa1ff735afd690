package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// PutJSON stores v as JSON under key (atomically, see Store.Put).
func PutJSON(ctx context.Context, st Store, key string, v any) error {
	body, err := jsonBody(key, v)
	if err != nil {
		return err
	}
	return st.Put(ctx, key, body)
}

// PutJSONUnsynced stores v as JSON under key without waiting for the disk
// when the store can (UnsyncedPutter), durably otherwise.
func PutJSONUnsynced(ctx context.Context, st Store, key string, v any) error {
	u, ok := st.(UnsyncedPutter)
	if !ok {
		return PutJSON(ctx, st, key, v)
	}
	body, err := jsonBody(key, v)
	if err != nil {
		return err
	}
	return u.PutUnsynced(ctx, key, body)
}

// PutJSONIfAbsent stores v as JSON under key unless key exists (an error
// wrapping ErrExist).
func PutJSONIfAbsent(ctx context.Context, st Store, key string, v any) error {
	body, err := jsonBody(key, v)
	if err != nil {
		return err
	}
	return st.PutIfAbsent(ctx, key, body)
}

// PutJSONIfVersion stores v as JSON under key if the object there is
// still version ("": none), returning the new version (see Swapper); a
// store without compare-and-swap fails with ErrNoSwap.
func PutJSONIfVersion(ctx context.Context, st Store, key, version string, v any) (string, error) {
	sw, ok := st.(Swapper)
	if !ok {
		return "", fmt.Errorf("put %s: %w", key, ErrNoSwap)
	}
	body, err := jsonBody(key, v)
	if err != nil {
		return "", err
	}
	return sw.PutIfVersion(ctx, key, version, body)
}

// jsonBody is v as the JSON body of a put of key.
func jsonBody(key string, v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("put %s: %w", key, err)
	}
	return bytes.NewReader(b), nil
}

// ErrCorrupt classifies an object of lagoon's own whose bytes do not
// decode (not JSON, or not the shape expected).
var ErrCorrupt = errors.New("corrupt")

// GetJSON reads the JSON object under key into v. A missing key is an
// error wrapping ErrNotExist; bytes that do not decode into v, one
// wrapping ErrCorrupt.
func GetJSON(ctx context.Context, st Store, key string, v any) error {
	obj, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer obj.Close()
	body, err := io.ReadAll(obj)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: %w: %w", key, ErrCorrupt, err)
	}
	return nil
}

// DeleteAll deletes every object under prefix. Idempotent.
func DeleteAll(ctx context.Context, st Store, prefix string) error {
	for info, err := range st.List(ctx, prefix) {
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		if err := st.Delete(ctx, info.Key); err != nil {
			return fmt.Errorf("delete %s: %w", info.Key, err)
		}
	}
	return nil
}
