package emberflow;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

/**
 * A small program with known hot functions for Emberflow's agent compatibility suite
 * (test/agents/run). The Pyroscope Java agent is attached with -javaagent and configured entirely
 * through its environment variables, the way Datakit's Pyroscope docs configure it
 * (PYROSCOPE_SERVER_ADDRESS, PYROSCOPE_APPLICATION_NAME, PYROSCOPE_LABELS with host, service,
 * version, env, process_id, runtime_id; PYROSCOPE_FORMAT=jfr, PYROSCOPE_PROFILER_EVENT=itimer,
 * PYROSCOPE_PROFILER_ALLOC, PYROSCOPE_PROFILER_LOCK, PYROSCOPE_UPLOAD_INTERVAL). This program
 * only does the work: EMBER_RUN_SECONDS of it, in EMBER_MODE "profiles" (CPU, allocation and
 * lock contention) or "spans" (two root spans on two threads, the hot one running emberHotLoop all the time, the cold one
 * emberColdLoop a quarter of it; run
 * under the OpenTelemetry Java agent with the io.pyroscope:otel extension), printing
 * "EMBER_SPANS hot=<span id> cold=<span id>".
 */
public final class EmberApp {
  static volatile long sink;

  static long emberHotLoop(long rounds) {
    long acc = 1;
    for (long i = 0; i < rounds; i++) acc = acc * 6364136223846793005L + (i ^ (acc >>> 7));
    return acc;
  }

  static long emberColdLoop(long rounds) {
    long acc = 7;
    for (long i = 0; i < rounds; i++) acc = Long.rotateLeft(acc, 5) ^ i;
    return acc;
  }

  static final List<byte[]> retained = new ArrayList<>();

  static void emberAllocLoop(long deadline) throws InterruptedException {
    while (System.currentTimeMillis() < deadline) {
      for (int i = 0; i < 512; i++) retained.add(new byte[8 * 1024]);
      if (retained.size() > 16384) retained.subList(0, 8192).clear();
      Thread.sleep(20);
    }
  }

  static final Object monitor = new Object();

  static void emberLockContention(long deadline) throws InterruptedException {
    while (System.currentTimeMillis() < deadline) {
      synchronized (monitor) {
        Thread.sleep(5);
      }
    }
  }

  interface Work {
    void run() throws Exception;
  }

  static Thread thread(String name, Work w) {
    Thread t =
        new Thread(
            () -> {
              try {
                w.run();
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            },
            name);
    t.start();
    return t;
  }

  public static void main(String[] args) throws Exception {
    long runSeconds = Long.parseLong(System.getenv().getOrDefault("EMBER_RUN_SECONDS", "30"));
    String mode = System.getenv().getOrDefault("EMBER_MODE", "profiles");
    long deadline = System.currentTimeMillis() + runSeconds * 1000;
    System.out.println("EMBER_READY pid=" + ProcessHandle.current().pid());
    List<Thread> threads = new ArrayList<>();

    if (mode.equals("spans")) {
      Tracer tracer = GlobalOpenTelemetry.getTracer("emberflow-agent-suite");
      ConcurrentHashMap<String, String> ids = new ConcurrentHashMap<>();
      ConcurrentHashMap<String, String> traces = new ConcurrentHashMap<>();
      CountDownLatch started = new CountDownLatch(2);
      for (String name : new String[] {"ember-hot-span", "ember-cold-span"}) {
        boolean hot = name.equals("ember-hot-span");
        threads.add(
            thread(
                name,
                () -> {
                  Span span = tracer.spanBuilder(name).setNoParent().startSpan();
                  try (Scope ignored = span.makeCurrent()) {
                    ids.put(name, span.getSpanContext().getSpanId());
                    traces.put(name, span.getSpanContext().getTraceId());
                    started.countDown();
                    while (System.currentTimeMillis() < deadline) {
                      if (hot) {
                        sink ^= emberHotLoop(2_000_000);
                        continue;
                      }
                      // the cold span works a quarter of the time, so the hot function still
                      // dominates the process's profile and each span's samples stay distinct
                      long slice = System.currentTimeMillis() + 50;
                      while (System.currentTimeMillis() < slice) sink ^= emberColdLoop(200_000);
                      Thread.sleep(150);
                    }
                  } finally {
                    span.end();
                  }
                }));
      }
      started.await();
      System.out.println(
          "EMBER_SPANS hot=" + ids.get("ember-hot-span") + " cold=" + ids.get("ember-cold-span"));
      // the OpenTelemetry Java agent exports the spans when they end (and at exit)
      System.out.println(
          "EMBER_TRACES hot="
              + traces.get("ember-hot-span")
              + " cold="
              + traces.get("ember-cold-span"));
    } else {
      threads.add(thread("ember-alloc", () -> emberAllocLoop(deadline)));
      for (int i = 0; i < 3; i++)
        threads.add(thread("ember-lock-" + i, () -> emberLockContention(deadline)));
      threads.add(
          thread(
              "ember-hot",
              () -> {
                while (System.currentTimeMillis() < deadline) {
                  sink ^= emberHotLoop(9_000_000);
                  sink ^= emberColdLoop(1_000_000);
                }
              }));
    }
    for (Thread t : threads) t.join();
    System.out.println("EMBER_DONE " + (sink & 1));
    // The agent uploads the last window from its shutdown hook.
  }
}
