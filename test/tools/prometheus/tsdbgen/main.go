// tsdbgen writes hours of the chat services' series straight into Prometheus TSDB blocks, for
// benchmarks that need 100k+ series over a dashboard's time range: OpenMetrics text plus
// `promtool tsdb create-blocks-from openmetrics` would mean tens of gigabytes of text.
//
// Usage: tsdbgen <spec.json> <output dir>. The spec (test/support/tsdbgen.ts writes it) lists the
// series and their traffic model; the counters follow that model with a seeded PRNG, so every run
// writes the same data. Counters (optional) grow by a constant amount per step, so their rate is
// exact. Prints {"series": N, "samples": N} on stdout.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

type histogramCombo struct {
	Labels   map[string]string `json:"labels"`
	MedianMs float64           `json:"medianMs"`
	Rate     float64           `json:"rate"` // requests per second
}

type gauge struct {
	Name   string            `json:"name"` // optional: the spec's Gauge where empty
	Labels map[string]string `json:"labels"`
	Mean   float64           `json:"mean"`
	// Fractional keeps the value unrounded (a recorded rate or ratio); else whole numbers (a count).
	Fractional bool `json:"fractional"`
}

// A counter that grows by exactly PerStep at every step from StartMs (0 there): its rate is known
// exactly (PerStep / step), for proofs that compare a query's answer with arithmetic.
type counter struct {
	Name    string            `json:"name"`
	Labels  map[string]string `json:"labels"`
	PerStep float64           `json:"perStep"`
}

type spec struct {
	StartMs   int64            `json:"startMs"`
	EndMs     int64            `json:"endMs"`
	StepMs    int64            `json:"stepMs"`
	BlockMs   int64            `json:"blockMs"`
	Seed      uint64           `json:"seed"`
	Histogram string           `json:"histogram"` // metric name without _bucket/_sum/_count
	Bounds    []float64        `json:"bounds"`
	Combos    []histogramCombo `json:"combos"`
	Gauge     string           `json:"gauge"`
	Gauges    []gauge          `json:"gauges"`
	Counters  []counter        `json:"counters"`
}

// One combination's cumulative state and its series' labels (len(Bounds)+1 buckets, _sum, _count).
type comboState struct {
	c       histogramCombo
	buckets []float64
	sum     float64
	count   float64
	series  []labels.Labels
	refs    []storage.SeriesRef
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tsdbgen <spec.json> <output dir>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "tsdbgen:", err)
		os.Exit(1)
	}
}

func withName(m map[string]string, name string, extra ...string) labels.Labels {
	b := labels.NewScratchBuilder(len(m) + 2)
	b.Add(labels.MetricName, name)
	for k, v := range m {
		b.Add(k, v)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		b.Add(extra[i], extra[i+1])
	}
	b.Sort()
	return b.Labels()
}

func run(specPath, outDir string) error {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var s spec
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	if s.StepMs <= 0 || s.BlockMs <= 0 || s.EndMs <= s.StartMs {
		return fmt.Errorf("%s: need stepMs > 0, blockMs > 0 and endMs > startMs", specPath)
	}
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
	les := make([]string, 0, len(s.Bounds)+1)
	for _, b := range s.Bounds {
		les = append(les, strconv.FormatFloat(b, 'f', -1, 64))
	}
	les = append(les, "+Inf")
	combos := make([]*comboState, len(s.Combos))
	for i, c := range s.Combos {
		st := &comboState{c: c, buckets: make([]float64, len(les))}
		for _, le := range les {
			st.series = append(st.series, withName(c.Labels, s.Histogram+"_bucket", "le", le))
		}
		st.series = append(st.series, withName(c.Labels, s.Histogram+"_sum"), withName(c.Labels, s.Histogram+"_count"))
		combos[i] = st
	}
	gaugeSeries := make([]labels.Labels, len(s.Gauges))
	for i, g := range s.Gauges {
		name := s.Gauge
		if g.Name != "" {
			name = g.Name
		}
		gaugeSeries[i] = withName(g.Labels, name)
	}

	counterSeries := make([]labels.Labels, len(s.Counters))
	for i, c := range s.Counters {
		counterSeries[i] = withName(c.Labels, c.Name)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()
	samples := 0
	stepS := float64(s.StepMs) / 1000
	// Blocks aligned to BlockMs, as Prometheus cuts them, so compaction treats them like its own.
	for blockStart := s.StartMs - s.StartMs%s.BlockMs; blockStart <= s.EndMs; blockStart += s.BlockMs {
		w, err := tsdb.NewBlockWriter(logger, outDir, s.BlockMs)
		if err != nil {
			return err
		}
		for _, st := range combos {
			st.refs = make([]storage.SeriesRef, len(st.series))
		}
		gaugeRefs := make([]storage.SeriesRef, len(gaugeSeries))
		counterRefs := make([]storage.SeriesRef, len(counterSeries))
		first := s.StartMs + (blockStart-s.StartMs+s.StepMs-1)/s.StepMs*s.StepMs
		if blockStart <= s.StartMs {
			first = s.StartMs
		}
		for t := first; t < blockStart+s.BlockMs && t <= s.EndMs; t += s.StepMs {
			app := w.Appender(ctx)
			for _, st := range combos {
				if t > s.StartMs {
					n := int(math.Round(st.c.Rate * stepS * (0.5 + rng.Float64())))
					for i := 0; i < n; i++ {
						// log-normal around the route's median, whole milliseconds as the services record them
						v := math.Max(0, math.Round(st.c.MedianMs*math.Exp(0.8*rng.NormFloat64())))
						st.count++
						st.sum += v
						for b, bound := range s.Bounds {
							if v <= bound {
								st.buckets[b]++
							}
						}
						st.buckets[len(s.Bounds)]++
					}
				}
				values := append(append([]float64{}, st.buckets...), st.sum, st.count)
				for k, v := range values {
					if st.refs[k], err = app.Append(st.refs[k], st.series[k], t, v); err != nil {
						return err
					}
				}
				samples += len(values)
			}
			for i, g := range s.Gauges {
				v := math.Max(0, g.Mean*(0.8+0.4*rng.Float64()))
				if !g.Fractional {
					v = math.Round(v)
				}
				if gaugeRefs[i], err = app.Append(gaugeRefs[i], gaugeSeries[i], t, v); err != nil {
					return err
				}
				samples++
			}
			for i, c := range s.Counters {
				v := c.PerStep * float64((t-s.StartMs)/s.StepMs)
				if counterRefs[i], err = app.Append(counterRefs[i], counterSeries[i], t, v); err != nil {
					return err
				}
				samples++
			}
			if err := app.Commit(); err != nil {
				return err
			}
		}
		if _, err := w.Flush(ctx); err != nil && err != tsdb.ErrNoSeriesAppended {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	series := len(gaugeSeries) + len(counterSeries)
	for _, st := range combos {
		series += len(st.series)
	}
	out, _ := json.Marshal(map[string]int{"series": series, "samples": samples})
	fmt.Println(string(out))
	return nil
}
