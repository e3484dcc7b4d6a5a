// glibc's malloc settings for every Emberflow process. glibc gives each thread that allocates
// (the decode and query worker threads, libuv's threadpool, V8's helper threads) an arena of its
// own, up to 8 per core, and an arena keeps the memory it freed for its thread: on a 2-core
// machine the all-in-one process held about 160 MB in arenas other than the main one at its peak.
// MALLOC_ARENA_MAX=2 shares two arenas between all threads. And glibc serves an allocation of
// at least MALLOC_MMAP_THRESHOLD_ with a mapping of its own, returned on free, but by default it
// raises that threshold to the size of every such block freed (up to 32 MiB): after the first
// 3.6 MB record or 1.5 MB body is freed, the next ones come from an arena, whose free space is
// kept and fragments. A fixed threshold (128 KiB, glibc's starting value) keeps bodies, records
// and large ArrayBuffers out of the arenas. docs/deployment.md (Memory) has the measurements.
//
// glibc reads MALLOC_* once, when the process starts, so it cannot be set from JavaScript: what
// launches node sets it. The image (Dockerfile ENV, and through it compose and k8s), `npm start`
// (package.json) and the test and benchmark spawner (test/support/emberflow-process.ts) do;
// libs/runtime/deployment-descriptors.spec.ts checks that they agree with this.
// musl and macOS ignore it.

export const MALLOC_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
});
