//go:build !linux

package events

import (
	"context"
	"errors"
)

// closeWatch is Linux's (inotify); elsewhere files settle.
type closeWatch struct{}

func newCloseWatch() (*closeWatch, error) { return nil, errors.New("no close events on this system") }

func (c *closeWatch) add(string) error { return nil }

func (c *closeWatch) close() {}

// watchCloses is never started here: newCloseWatch fails.
func (l *Local) watchCloses(context.Context, *closeWatch, chan<- Event) error { return nil }
