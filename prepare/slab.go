package prepare

// slab hands out slices of T from large blocks that are taken again after
// reset, so that readers need no allocation per record once warm. What it
// hands out is valid until the next reset.
type slab[T any] struct {
	blocks [][]T
	cur    int
}

const slabMin = 64 << 10 // items per block, at least

// take returns a slice of n items (holding whatever a previous use left:
// the caller sets every item).
func (s *slab[T]) take(n int) []T {
	for s.cur < len(s.blocks) && cap(s.blocks[s.cur])-len(s.blocks[s.cur]) < n {
		s.cur++
	}
	if s.cur == len(s.blocks) {
		s.blocks = append(s.blocks, make([]T, 0, max(slabMin, n)))
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
