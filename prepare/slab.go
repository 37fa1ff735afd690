package prepare

import "sync"

// slab hands out slices of T from large blocks that are taken again after
// reset, so that readers need no allocation per record once warm. What it
// hands out is valid until the next reset, or, once detached, until the
// detaching caller gives the blocks back.
type slab[T any] struct {
	blocks [][]T
	cur    int

	mu   sync.Mutex
	free [][]T // detached blocks given back
}

const slabMin = 64 << 10 // items per block, at least

// take returns a slice of n items (holding whatever a previous use left:
// the caller sets every item).
func (s *slab[T]) take(n int) []T {
	for s.cur < len(s.blocks) && cap(s.blocks[s.cur])-len(s.blocks[s.cur]) < n {
		s.cur++
	}
	if s.cur == len(s.blocks) {
		s.blocks = append(s.blocks, s.block(n))
	}
	b := s.blocks[s.cur]
	start := len(b)
	b = b[:start+n]
	s.blocks[s.cur] = b
	return b[start : start+n : start+n]
}

// copy returns a copy of src from the slab.
func (s *slab[T]) copy(src []T) []T {
	out := s.take(len(src))
	copy(out, src)
	return out
}

// reset makes every block available again.
func (s *slab[T]) reset() {
	for i := range s.blocks {
		s.blocks[i] = s.blocks[i][:0]
	}
	s.cur = 0
}

// block is a block for at least n items: one given back, or a new one.
func (s *slab[T]) block(n int) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.free) - 1; i >= 0; i-- {
		if b := s.free[i]; cap(b) >= n {
			s.free = append(s.free[:i], s.free[i+1:]...)
			return b
		}
	}
	return make([]T, 0, max(slabMin, n))
}

// detach hands over the blocks in use: what was taken from them stays
// valid until the returned func is called (from any goroutine), which
// gives them back for reuse. The slab goes on with other blocks.
func (s *slab[T]) detach() func() {
	n := min(s.cur+1, len(s.blocks))
	used := s.blocks[:n:n]
	s.blocks, s.cur = append([][]T(nil), s.blocks[n:]...), 0
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, b := range used {
			s.free = append(s.free, b[:0])
		}
	}
}
