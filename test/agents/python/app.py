"""A small program with a known hot function, profiled by pyroscope-io (and, with
EMBER_MODE=spans, traced through pyroscope-otel's span processor), configured the way Datakit's
Pyroscope docs configure agents: server address, application name and the tags host, service,
version, env, process_id, runtime_id. The suite runner (test/agents/run) passes:

  PYROSCOPE_SERVER_ADDRESS, PYROSCOPE_APPLICATION_NAME, PYROSCOPE_LABELS ("k=v,k=v"),
  PYROSCOPE_UPLOAD_INTERVAL (seconds),
  EMBER_RUN_SECONDS, EMBER_MODE ("profiles" or "spans").

process_id is this process's pid, added here as Datakit's examples do. With EMBER_MODE=spans
the program prints "EMBER_SPANS hot=<span id> cold=<span id>": two root spans on two threads,
the hot one running ember_hot_loop for the whole run, the cold one ember_cold_loop a quarter of it.
"""

import os
import threading
import time

import pyroscope


def env(name, default):
    return os.environ.get(name, default)


def ember_hot_loop(rounds):
    acc = 1
    for i in range(rounds):
        acc = (acc * 1103515245 + (i ^ (acc >> 7))) & 0xFFFFFFFF
    return acc


def ember_cold_loop(rounds):
    acc = 7
    for i in range(rounds):
        acc = ((acc << 5) & 0xFFFFFFFF) ^ i
    return acc


def main():
    tags = {}
    for kv in env("PYROSCOPE_LABELS", "").split(","):
        if "=" in kv:
            k, v = kv.split("=", 1)
            tags[k.strip()] = v.strip()
    tags["process_id"] = str(os.getpid())
    run_seconds = int(env("EMBER_RUN_SECONDS", "30"))
    mode = env("EMBER_MODE", "profiles")

    pyroscope.configure(
        application_name=env("PYROSCOPE_APPLICATION_NAME", "ember-agent-python"),
        server_address=env("PYROSCOPE_SERVER_ADDRESS", "http://127.0.0.1:4040"),
        sample_rate=100,
        tags=tags,
        upload_interval=int(env("PYROSCOPE_UPLOAD_INTERVAL", "10")),
    )
    print(f"EMBER_READY pid={os.getpid()}", flush=True)
    deadline = time.monotonic() + run_seconds
    sink = 0

    if mode == "spans":
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from pyroscope.otel import PyroscopeSpanProcessor

        grpc_endpoint = env("EMBER_OTLP_GRPC_ENDPOINT", "")
        if grpc_endpoint:
            # Datakit's Python example: a gRPC OTLPSpanExporter to the collector's port 4317
            # (the suite passes Emberflow's gRPC address), behind a batch processor
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider = TracerProvider(
                resource=Resource.create(
                    {
                        "service.name": env("PYROSCOPE_APPLICATION_NAME", "ember-agent-python"),
                        "runtime_id": tags.get("runtime_id", ""),
                        "host": tags.get("host", ""),
                        "process_id": tags["process_id"],
                    }
                )
            )
            provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=grpc_endpoint, insecure=True))
            )
        else:
            provider = TracerProvider()
        provider.add_span_processor(PyroscopeSpanProcessor())
        trace.set_tracer_provider(provider)
        tracer = trace.get_tracer("emberflow-agent-suite")
        ids = {}
        traces = {}
        started = threading.Barrier(3)

        def work(name, fn):
            nonlocal sink
            with tracer.start_as_current_span(name) as span:
                ids[name] = format(span.get_span_context().span_id, "016x")
                traces[name] = format(span.get_span_context().trace_id, "032x")
                started.wait()
                while time.monotonic() < deadline:
                    if fn is ember_hot_loop:
                        sink ^= fn(200_000)
                        continue
                    # the cold span works a quarter of the time, so the hot function still
                    # dominates the process's profile and each span's samples stay distinct
                    until = time.monotonic() + 0.05
                    while time.monotonic() < until:
                        sink ^= fn(5_000)
                    time.sleep(0.15)

        threads = [
            threading.Thread(target=work, args=("ember-hot-span", ember_hot_loop)),
            threading.Thread(target=work, args=("ember-cold-span", ember_cold_loop)),
        ]
        for t in threads:
            t.start()
        started.wait()
        print(
            f"EMBER_SPANS hot={ids['ember-hot-span']} cold={ids['ember-cold-span']}",
            flush=True,
        )
        if grpc_endpoint:
            print(
                f"EMBER_TRACES hot={traces['ember-hot-span']} cold={traces['ember-cold-span']}",
                flush=True,
            )
        for t in threads:
            t.join()
        provider.shutdown()
    else:
        while time.monotonic() < deadline:
            sink ^= ember_hot_loop(900_000)
            sink ^= ember_cold_loop(100_000)

    print(f"EMBER_DONE {sink & 1}", flush=True)
    pyroscope.shutdown()


if __name__ == "__main__":
    main()
