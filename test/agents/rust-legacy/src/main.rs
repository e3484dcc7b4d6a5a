// The legacy Rust agent (crate `pyroscope` 0.5.x + `pyroscope_pprofrs` 0.2.10, uploading to
// /ingest?format=pprof) around the same program as ../rust: a known hot function, configured
// the way Datakit's Pyroscope docs configure agents (server address, application name, tags host,
// service, version, env, process_id, runtime_id). The suite runner (test/agents/run) passes:
//   PYROSCOPE_SERVER_ADDRESS, PYROSCOPE_APPLICATION_NAME, PYROSCOPE_LABELS ("k=v,k=v"),
//   EMBER_RUN_SECONDS. This agent has no upload-interval setting: it uploads every 10 s.
// process_id is this process's pid, added here like Datakit's examples do.

use pyroscope::PyroscopeAgent;
use pyroscope_pprofrs::{pprof_backend, PprofConfig};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

#[inline(never)]
fn ember_hot_loop(rounds: u64) -> u64 {
    let mut acc: u64 = 1;
    for i in 0..rounds {
        acc = black_box(acc.wrapping_mul(6364136223846793005).wrapping_add(i ^ (acc >> 7)));
    }
    acc
}

#[inline(never)]
fn ember_cold_loop(rounds: u64) -> u64 {
    let mut acc: u64 = 7;
    for i in 0..rounds {
        acc = black_box(acc.rotate_left(5) ^ i);
    }
    acc
}

fn main() {
    let server = env("PYROSCOPE_SERVER_ADDRESS", "http://127.0.0.1:4040");
    let app = env("PYROSCOPE_APPLICATION_NAME", "ember-agent-rust-legacy");
    let labels = env("PYROSCOPE_LABELS", "");
    let run_seconds: u64 = env("EMBER_RUN_SECONDS", "30").parse().unwrap_or(30);

    let pid = std::process::id().to_string();
    let mut pairs: Vec<(String, String)> = labels
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    pairs.push(("process_id".to_string(), pid));
    let tags: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    let agent = PyroscopeAgent::builder(server.as_str(), app.as_str())
        .backend(pprof_backend(PprofConfig::new().sample_rate(100)))
        .tags(tags)
        .build()
        .expect("pyroscope agent: build");
    let running = agent.start().expect("pyroscope agent: start");
    println!("EMBER_READY pid={}", std::process::id());

    let end = Instant::now() + Duration::from_secs(run_seconds);
    let mut sink = 0u64;
    while Instant::now() < end {
        sink ^= ember_hot_loop(9_000_000);
        sink ^= ember_cold_loop(1_000_000);
    }
    println!("EMBER_DONE {}", sink & 1);

    let ready = running.stop().expect("pyroscope agent: stop");
    ready.shutdown();
}
