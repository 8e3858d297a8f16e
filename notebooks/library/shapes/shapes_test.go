package shapes

import "testing"

func TestTotalArea(t *testing.T) {
	if got := TotalArea(Rect{2, 3}, Rect{1, 1}); got != 7 {
		t.Fatalf("TotalArea = %v, want 7", got)
	}
}
