package upload

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkRefusePixelBombs measures refusing each decompression bomb through the whole
// upload pipeline: spooling, sniffing, the header check and the cleanup. It reports the
// milliseconds and megabytes allocated per refusal.
func BenchmarkRefusePixelBombs(b *testing.B) {
	for _, name := range []string{"bomb_20000x20000_complete.png", "bomb_50000x50000.png",
		"bomb_30000x30000.jpg"} {
		data := shared(b, "attacks", name)
		b.Run(name, func(b *testing.B) {
			r := newRig(b, nil)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.svc.Accept(context.Background(), r.user, name,
					bytes.NewReader(data)); err == nil {
					b.Fatal("a bomb was accepted")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/refusal")
		})
	}
}
