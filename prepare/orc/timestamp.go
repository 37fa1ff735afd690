package orc

import (
	"fmt"
	"math"
	"time"
	_ "time/tzdata" // writers' time zones, wherever lagoon runs

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// orcEpoch is 2015-01-01 00:00:00 UTC, from which timestamps count.
const orcEpoch = 1420070400

// timestamps reads m timestamps: seconds since 2015-01-01 (DATA) and
// nanoseconds with their trailing zeros encoded (SECONDARY).
//
// A timestamp is a wall-clock time: its seconds count from 2015-01-01 in
// the writer's time zone (the stripe's, UTC when the file names none),
// and it is read as the same wall-clock time, as the ORC project's
// readers do when they read in UTC. A timestamp with local time zone
// counts from 2015-01-01 UTC: an instant.
//
// Values keep microseconds; nanoseconds beyond are cut, and counted.
func (cr *columnReader) timestamps(col, m int, instant bool) (arrow.Array, error) {
	secs, err := cr.sd.ints(col, Data, true, m)
	if err != nil {
		return nil, err
	}
	nanos, err := cr.sd.ints(col, Secondary, false, m)
	if err != nil {
		return nil, err
	}
	loc := time.UTC
	if !instant {
		if loc, err = cr.sd.f.zone(cr.sd.foot.timezone); err != nil {
			return nil, err
		}
	}
	dt := cr.sd.f.Footer.Types[col]
	b := array.NewTimestampBuilder(cr.mem, primitiveTypes[dt.Kind].(*arrow.TimestampType))
	defer b.Release()
	b.Reserve(m)
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, loc).Unix()
	for i, s := range secs {
		us, cut, err := wallMicros(s, nanos[i], base, loc)
		if err != nil {
			return nil, err
		}
		if cut {
			*cr.trunc++
		}
		b.UnsafeAppend(arrow.Timestamp(us))
	}
	return b.NewArray(), nil
}

// wallMicros is one timestamp's microseconds (of wall-clock time in loc,
// counted as if it were UTC), and whether nanoseconds were cut.
func wallMicros(secs, enc, base int64, loc *time.Location) (int64, bool, error) {
	nanos, ok := decodeNanos(uint64(enc))
	if !ok {
		return 0, false, fmt.Errorf("%w: a timestamp's nanoseconds (%d) are not below a second", ErrCorrupt, enc)
	}
	if secs > math.MaxInt64/4 || secs < math.MinInt64/4 {
		return 0, false, fmt.Errorf("%w: a timestamp %d seconds from 2015", ErrCorrupt, secs)
	}
	t := secs + base
	if loc != time.UTC {
		_, off := time.Unix(t, 0).In(loc).Zone()
		t += int64(off)
	}
	// Writers count negative times' seconds towards zero when the
	// nanoseconds hold more than milliseconds; readers take one away.
	if t < 0 && nanos > 999999 {
		t--
	}
	if t > math.MaxInt64/1_000_000-1 || t < math.MinInt64/1_000_000+1 {
		return 0, false, fmt.Errorf("%w: a timestamp of %d seconds is past microseconds' range", ErrUnsupported, t)
	}
	return t*1e6 + nanos/1000, nanos%1000 != 0, nil
}

// decodeNanos undoes the trailing-zeros encoding: the low 3 bits z say
// that z+1 zeros were taken off (none when z is 0).
func decodeNanos(u uint64) (int64, bool) {
	z := u & 7
	v := u >> 3
	if z != 0 {
		for range z + 1 {
			if v >= 1e9 {
				return 0, false
			}
			v *= 10
		}
	}
	return int64(v), v < 1e9
}

// zone is the time zone a stripe's writer names (UTC when none).
func (f *File) zone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if loc, ok := f.zones[name]; ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w: the writer's time zone %q is not known", ErrUnsupported, cutText(name))
	}
	if f.zones == nil {
		f.zones = map[string]*time.Location{}
	}
	f.zones[name] = loc
	return loc, nil
}
