package mls

// SetDirCompactMin lowers the dead size above which d compacts its file
// (1 MB) to n, and drops the other condition (more dead than live bytes),
// so that a test compacts after almost every commit.
func SetDirCompactMin(d *DirStorage, n int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.compactMin = n
}
