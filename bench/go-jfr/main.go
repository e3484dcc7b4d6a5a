// Reference timing for bench/jfr.ts: grafana/jfr-parser's JFR → pprof conversion (pprof.ParseJFR,
// the code Pyroscope runs on /ingest?format=jfr) on one core, same inputs and parse parameters as
// our benchmark. Prints one JSON object per input: {"name", "bytes", "medianMs", "mbps", ...}.
//
// Time is the process's CPU time (user + system, all threads: GC work counts), like bench/jfr.ts,
// because the machine is shared and wall time would measure the neighbours' load.
//
//	go run . -runs 15 ../../../shared/fixtures/bench/async-profiler.jfr.gz ...
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/grafana/jfr-parser/pprof"
)

type result struct {
	Name         string    `json:"name"`
	Bytes        int       `json:"bytes"`
	MedianMs     float64   `json:"medianMs"`
	MBps         float64   `json:"mbps"`
	WallMedianMs float64   `json:"wallMedianMs"`
	CPUMs        []float64 `json:"cpuMs"` // every timed run, for pooling across rounds
	Profiles     int       `json:"profiles"`
	Version      string    `json:"version"`
}

// cpuMs is this process's CPU time (user + system) in milliseconds.
func cpuMs() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

func main() {
	runs := flag.Int("runs", 15, "timed runs per input (median reported)")
	warmup := flag.Int("warmup", 3, "untimed runs first")
	serveMode := flag.Bool("serve", false, "after the warm-up, time one run per input index read from stdin")
	flag.Parse()
	runtime.GOMAXPROCS(1)

	in := &pprof.ParseInput{
		StartTime:  time.Unix(1706241880, 0),
		EndTime:    time.Unix(1706241890, 0),
		SampleRate: 100,
	}
	if *serveMode {
		serve(in, *warmup, flag.Args())
		return
	}
	enc := json.NewEncoder(os.Stdout)
	for _, path := range flag.Args() {
		raw, err := readMaybeGzip(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var profiles int
		run := func() (cpu, wall float64) {
			c0, t0 := cpuMs(), time.Now()
			res, err := pprof.ParseJFR(raw, in, new(pprof.LabelsSnapshot))
			wall, cpu = float64(time.Since(t0).Nanoseconds())/1e6, cpuMs()-c0
			if err != nil {
				fmt.Fprintln(os.Stderr, path, err)
				os.Exit(1)
			}
			profiles = len(res.Profiles)
			return cpu, wall
		}
		for i := 0; i < *warmup; i++ {
			run()
		}
		cpus := make([]float64, 0, *runs)
		walls := make([]float64, 0, *runs)
		for i := 0; i < *runs; i++ {
			runtime.GC()
			c, w := run()
			cpus = append(cpus, c)
			walls = append(walls, w)
		}
		sort.Float64s(cpus)
		sort.Float64s(walls)
		med := cpus[len(cpus)/2]
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".gz"), ".jfr")
		_ = enc.Encode(result{
			Name: name, Bytes: len(raw), MedianMs: med, MBps: float64(len(raw)) / 1e6 / (med / 1e3),
			WallMedianMs: walls[len(walls)/2], CPUMs: cpus, Profiles: profiles, Version: jfrParserVersion(),
		})
	}
}

// serve lets the caller interleave its own runs with ours, run by run, so that both sides see the
// same moments of a shared machine: it prints {"version"} once warmed up, then reads an input
// index per line and answers {"name", "cpuMs"} for one timed run of that input.
func serve(in *pprof.ParseInput, warmup int, paths []string) {
	raws := make([][]byte, len(paths))
	for i, path := range paths {
		raw, err := readMaybeGzip(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		raws[i] = raw
	}
	parse := func(i int) {
		if _, err := pprof.ParseJFR(raws[i], in, new(pprof.LabelsSnapshot)); err != nil {
			fmt.Fprintln(os.Stderr, paths[i], err)
			os.Exit(1)
		}
	}
	for i := range raws {
		for k := 0; k < warmup; k++ {
			parse(i)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	_ = enc.Encode(map[string]string{"version": jfrParserVersion()})
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		var i int
		if _, err := fmt.Sscan(lines.Text(), &i); err != nil || i < 0 || i >= len(raws) {
			fmt.Fprintln(os.Stderr, "bad input index:", lines.Text())
			os.Exit(2)
		}
		runtime.GC()
		c0 := cpuMs()
		parse(i)
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(paths[i]), ".gz"), ".jfr")
		_ = enc.Encode(map[string]any{"name": name, "cpuMs": cpuMs() - c0})
	}
}

// jfrParserVersion reports the jfr-parser module version linked in (from the build info).
func jfrParserVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/grafana/jfr-parser" {
				return d.Version
			}
		}
	}
	return "unknown"
}

func readMaybeGzip(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
	return b, nil
}
