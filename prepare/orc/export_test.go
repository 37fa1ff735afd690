package orc

// CheckStripes reads every stripe footer of f, for tests.
func CheckStripes(f *File) (int, error) {
	for i, s := range f.Footer.Stripes {
		if _, err := f.readStripeFooter(s); err != nil {
			return i, err
		}
	}
	return len(f.Footer.Stripes), nil
}
