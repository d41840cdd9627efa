package vectors

// runWelcome is not implemented yet: its cases are reported as skipped.
func runWelcome(data []byte, r *Result) {
	skipAll(data, r, "not implemented yet (issue 2)")
}
