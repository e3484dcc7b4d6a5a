// Merging of JVM-generated names, as Pyroscope's JFR conversion does to every symbol
// (jfr-parser `parser/symbols.go`): names that differ per JVM run (lambda classes, reflection
// accessors, temp-extracted native libraries, CGLIB proxies) are folded into one stable name so
// profiles from different runs aggregate. Patterns restated from the upstream behaviour.

const generatedMethodAccessor = /^(jdk\/internal\/reflect\/GeneratedMethodAccessor)\d+$/;
// org/example/OrderService$$Lambda$669.0x0000000800fd7318, Fib$$Lambda.0x00007ffa600c4da0, Foo$$Lambda$12
const lambdaClass = /^(.+\$\$Lambda)(\$?\d*[./](0x)?[\da-f]+|\d+)$/;
const zstdJni = /^(\.?\/tmp\/)?(libzstd-jni-\d+\.\d+\.\d+-)(\d+)(\.so)( \(deleted\))?$/;
const corretto =
  /^(\.?\/tmp\/)?(lib)?(amazonCorrettoCryptoProvider)(NativeLibraries\.)?([0-9a-f]{16})(\/libcrypto|\/libamazonCorrettoCryptoProvider)?(\.so)( \(deleted\))?$/;
const asyncProfilerLib =
  /^(\.?\/tmp\/)?(libasyncProfiler)-(linux-arm64|linux-musl-x64|linux-x64|macos)-(17b9a1d8156277a98ccc871afa9a8f69215f92)(\.so)( \(deleted\))?$/;
const cglib = /^(.+\$\$EnhancerBySpringCGLIB\$\$)(.*)$/;

/**
 * Applies the six rewrites in upstream order. A cheap substring pre-check skips the regular
 * expressions for the vast majority of symbols, which contain none of the markers.
 */
export function mergeGeneratedNames(s: string): string {
  if (s.includes('GeneratedMethodAccessor')) s = s.replace(generatedMethodAccessor, '$1_');
  if (s.includes('$$Lambda')) s = s.replace(lambdaClass, '$1_');
  if (s.includes('.so')) {
    if (s.includes('libzstd-jni-')) s = s.replace(zstdJni, 'libzstd-jni-_.so');
    if (s.includes('amazonCorrettoCryptoProvider')) {
      s = s.replace(corretto, 'libamazonCorrettoCryptoProvider_.so');
    }
    if (s.includes('libasyncProfiler-')) s = s.replace(asyncProfilerLib, 'libasyncProfiler-_.so');
  }
  if (s.includes('$$EnhancerBySpringCGLIB$$')) s = s.replace(cglib, '$1_');
  return s;
}
