// A small program with known hot functions, profiled by grafana/pyroscope-go (and, with
// EMBER_MODE=spans, traced through grafana/otel-profiling-go), configured the way Datakit's
// Pyroscope docs configure agents: server address, application name and the tags host, service,
// version, env, process_id, runtime_id. The suite runner (test/agents/run) passes the settings in
// the environment:
//
//	PYROSCOPE_SERVER_ADDRESS, PYROSCOPE_APPLICATION_NAME, PYROSCOPE_LABELS ("k=v,k=v"),
//	PYROSCOPE_UPLOAD_INTERVAL (seconds), EMBER_RUN_SECONDS, EMBER_MODE ("profiles" or "spans").
//
// process_id is this process's pid, added here as Datakit's examples do. With EMBER_MODE=spans
// the program prints "EMBER_SPANS hot=<span id> cold=<span id>": two root spans on two goroutines,
// the hot one running emberHotLoop for the whole run, the cold one emberColdLoop a quarter of it.
// With OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set (the suite sets Emberflow's /otel/v1/traces), the
// spans are exported as Datakit's Go example does: otlptracehttp.WithEndpointURL, WithInsecure,
// WithTimeout(15s), a batcher with WithBatchTimeout(3s), and the resource attributes runtime_id,
// service.name, service.version, service.env, host, process_id; it then also prints
// "EMBER_TRACES hot=<trace id> cold=<trace id>".
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	otelpyroscope "github.com/grafana/otel-profiling-go"
	"github.com/grafana/pyroscope-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

var sink uint64

//go:noinline
func emberHotLoop(rounds int) uint64 {
	acc := uint64(1)
	for i := 0; i < rounds; i++ {
		acc = acc*6364136223846793005 + uint64(i) ^ (acc >> 7)
	}
	return acc
}

//go:noinline
func emberColdLoop(rounds int) uint64 {
	acc := uint64(7)
	for i := 0; i < rounds; i++ {
		acc = (acc<<5 | acc>>59) ^ uint64(i)
	}
	return acc
}

var retained [][]byte

//go:noinline
func emberAllocLoop(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		for i := 0; i < 64; i++ {
			b := make([]byte, 16<<10)
			b[0] = byte(i)
			retained = append(retained, b)
		}
		if len(retained) > 4096 {
			retained = retained[2048:]
		}
		time.Sleep(20 * time.Millisecond)
	}
}

//go:noinline
func emberMutexContention(stop <-chan struct{}) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				time.Sleep(2 * time.Millisecond)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

//go:noinline
func emberBlockWait(stop <-chan struct{}) {
	ch := make(chan int)
	go func() {
		for {
			select {
			case <-stop:
				close(ch)
				return
			case <-time.After(5 * time.Millisecond):
				ch <- 1
			}
		}
	}()
	for range ch {
	}
}

//go:noinline
func emberParked(stop <-chan struct{}) { <-stop }

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func main() {
	interval, _ := strconv.Atoi(env("PYROSCOPE_UPLOAD_INTERVAL", "10"))
	runSeconds, _ := strconv.Atoi(env("EMBER_RUN_SECONDS", "30"))
	mode := env("EMBER_MODE", "profiles")

	tags := map[string]string{}
	for _, kv := range strings.Split(env("PYROSCOPE_LABELS", ""), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			tags[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	tags["process_id"] = strconv.Itoa(os.Getpid())

	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(5)

	profiler, err := pyroscope.Start(pyroscope.Config{
		ApplicationName: env("PYROSCOPE_APPLICATION_NAME", "ember-agent-go"),
		ServerAddress:   env("PYROSCOPE_SERVER_ADDRESS", "http://127.0.0.1:4040"),
		Tags:            tags,
		UploadRate:      time.Duration(interval) * time.Second,
		Logger:          pyroscope.StandardLogger,
		ProfileTypes: []pyroscope.ProfileType{
			pyroscope.ProfileCPU,
			pyroscope.ProfileAllocObjects,
			pyroscope.ProfileAllocSpace,
			pyroscope.ProfileInuseObjects,
			pyroscope.ProfileInuseSpace,
			pyroscope.ProfileGoroutines,
			pyroscope.ProfileMutexCount,
			pyroscope.ProfileMutexDuration,
			pyroscope.ProfileBlockCount,
			pyroscope.ProfileBlockDuration,
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pyroscope.Start:", err)
		os.Exit(1)
	}
	fmt.Printf("EMBER_READY pid=%d\n", os.Getpid())

	deadline := time.Now().Add(time.Duration(runSeconds) * time.Second)
	burn := func(f func(int) uint64, rounds int) {
		for time.Now().Before(deadline) {
			sink ^= f(rounds)
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	if mode == "spans" {
		var opts []sdktrace.TracerProviderOption
		if endpoint := env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""); endpoint != "" {
			exp, err := otlptracehttp.New(context.Background(),
				otlptracehttp.WithEndpointURL(endpoint),
				otlptracehttp.WithInsecure(),
				otlptracehttp.WithTimeout(15*time.Second),
			)
			if err != nil {
				fmt.Fprintln(os.Stderr, "otlptracehttp.New:", err)
				os.Exit(1)
			}
			res := resource.NewSchemaless(
				attribute.String("runtime_id", tags["runtime_id"]),
				attribute.String("service.name", env("PYROSCOPE_APPLICATION_NAME", "ember-agent-go")),
				attribute.String("service.version", tags["version"]),
				attribute.String("service.env", tags["env"]),
				attribute.String("host", tags["host"]),
				attribute.String("process_id", tags["process_id"]),
			)
			opts = append(opts,
				sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(3*time.Second)),
				sdktrace.WithResource(res),
			)
		}
		tp := sdktrace.NewTracerProvider(opts...)
		otel.SetTracerProvider(otelpyroscope.NewTracerProvider(tp))
		tracer := otel.Tracer("emberflow-agent-suite")
		ids := make(chan string, 2)
		for _, w := range []struct {
			name   string
			f      func(int) uint64
			rounds int
		}{{"ember-hot-span", emberHotLoop, 2_000_000}, {"ember-cold-span", emberColdLoop, 2_000_000}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, span := tracer.Start(context.Background(), w.name)
				ids <- w.name + "=" + span.SpanContext().SpanID().String() + "/" + span.SpanContext().TraceID().String()
				_ = ctx
				if w.name == "ember-hot-span" {
					burn(w.f, w.rounds)
				} else {
					// the cold span works a quarter of the time, so the hot function still
					// dominates the process's profile and each span's samples stay distinct
					for time.Now().Before(deadline) {
						slice := time.Now().Add(50 * time.Millisecond)
						for time.Now().Before(slice) {
							sink ^= w.f(w.rounds / 10)
						}
						time.Sleep(150 * time.Millisecond)
					}
				}
				span.End()
			}()
		}
		got := map[string]string{}
		traces := map[string]string{}
		for i := 0; i < 2; i++ {
			k, v, _ := strings.Cut(<-ids, "=")
			got[k], traces[k], _ = strings.Cut(v, "/")
		}
		fmt.Printf("EMBER_SPANS hot=%s cold=%s\n", got["ember-hot-span"], got["ember-cold-span"])
		if env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "") != "" {
			fmt.Printf("EMBER_TRACES hot=%s cold=%s\n", traces["ember-hot-span"], traces["ember-cold-span"])
		}
		wg.Wait()
		_ = tp.Shutdown(context.Background())
	} else {
		for _, f := range []func(<-chan struct{}){emberAllocLoop, emberMutexContention, emberBlockWait, emberParked, emberParked} {
			wg.Add(1)
			go func() { defer wg.Done(); f(stop) }()
		}
		for time.Now().Before(deadline) {
			sink ^= emberHotLoop(9_000_000)
			sink ^= emberColdLoop(1_000_000)
		}
		close(stop)
		wg.Wait()
	}
	fmt.Printf("EMBER_DONE %d\n", sink&1)
	if err := profiler.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "profiler.Stop:", err)
	}
}
